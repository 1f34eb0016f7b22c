"""Internal tokens for tests that call a service directly, as the gateway (or a service) would.

Apps built in process (conftest.service_config) sign with the shared TEST_SECRET and also
trust the development keys; app processes (the `suite`, the gateway process tests) each
sign with their own development key (devstack/stack.py). auth_header signs as `caller`
with that caller's development key, so its tokens are accepted by both.
"""
from collections.abc import Iterator, Mapping

from services.common.service_auth import (SERVICES, development_signing_key, mint_internal_token,
                                          trusted_keys_text)

TEST_SECRET = "test-internal-token-secret-with-enough-length"
TEST_JWT_SIGNING_KEYS = "test-1:test-jwt-signing-key-that-is-long-enough-0001"
# {service: its development ed25519: key}; published, so refused in production.
TEST_SIGNING_KEYS = {name: development_signing_key(name) for name in SERVICES}
TEST_TRUSTED_KEYS = trusted_keys_text(TEST_SIGNING_KEYS)


def auth_header(audience: str, subject: str | None = None, roles=(), caller: str = "gateway",
                secret: str | None = None) -> dict[str, str]:
    """An internal token for `audience`; signed with `secret` when given (HS256 for a shared secret)."""
    signer = secret or TEST_SIGNING_KEYS.get(caller) or TEST_SECRET
    token = mint_internal_token(signer, audience, caller, subject, tuple(roles))
    return {"Authorization": f"Bearer {token}"}


class FreshAuthHeader(Mapping):
    """auth_header(...) for a module-level constant: a new token at every use, so a test
    that runs minutes after collection is not refused for an expired one (60 s lifetime)."""

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs = args, kwargs

    def _header(self) -> dict[str, str]:
        return auth_header(*self._args, **self._kwargs)

    def __getitem__(self, name: str) -> str:
        return self._header()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(("Authorization",))

    def __len__(self) -> int:
        return 1


def gateway_environment() -> dict[str, str]:
    """The internal-identity settings of a gateway process started by a test."""
    return {"INTERNAL_TOKEN_SECRET": TEST_SIGNING_KEYS["gateway"], "INTERNAL_TRUSTED_KEYS": TEST_TRUSTED_KEYS}
