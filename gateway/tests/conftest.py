"""Gateway fixtures: signing keys, access tokens, the gateway in front of given upstreams."""
from __future__ import annotations

import pytest

from conftest import service_config
from gateway.tokens import AccessTokens, parse_signing_keys

TEST_JWT_KEYS = "k2:gateway-test-signing-key-number-two-0123456789,k1:gateway-test-signing-key-number-one-012345678"
ISSUER, AUDIENCE = "https://api.finovabank.example", "finova-api"


def access_tokens(keys: str = TEST_JWT_KEYS, **kwargs) -> AccessTokens:
    return AccessTokens(tuple(parse_signing_keys(keys)), kwargs.get("issuer", ISSUER),
                        kwargs.get("audience", AUDIENCE), kwargs.get("ttl_seconds", 900))


def bearer(customer_id: str = "c0ffee00-0000-4000-8000-000000000001", roles=("customer",), **kwargs) -> dict:
    return {"Authorization": f"Bearer {access_tokens(**kwargs).issue(customer_id, roles)}"}


def gateway_for(**kwargs):
    """The gateway app in front of `accounts=url, ...`; UPPER_CASE keywords are settings."""
    from gateway.app import create_app
    urls = {f"{k.upper()}_URL": v for k, v in kwargs.items() if k.islower()}
    settings = {k: v for k, v in kwargs.items() if not k.islower()}
    return create_app(service_config(**urls, JWT_SIGNING_KEYS=TEST_JWT_KEYS,
                                     UPSTREAM_CONNECT_TIMEOUT=0.3, UPSTREAM_READ_TIMEOUT=1.0, **settings))


@pytest.fixture
def make_gateway():
    return gateway_for
