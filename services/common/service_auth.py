"""Internal service tokens: short-lived JWTs naming the target service as audience.

The gateway mints one per forwarded request (carrying the customer id and roles); services
mint one when they call each other. A service answers 401 to any request without a valid
token for itself, so reaching a service directly gives nothing, and 403 to a valid token
from a caller that has no business on that route (EXPECTED_CALLERS).

Who signs (INTERNAL_TOKEN_SECRET, the signing secret of the app that mints):
- Per-service keys (production, `make up`, the test suite's processes): each service has
  its own Ed25519 private key, `ed25519:<base64url 32-byte seed>`; a token is EdDSA-signed
  with header `kid` = the minting service's name, which is also its `caller` claim.
  INTERNAL_TRUSTED_KEYS lists the public key(s) of each issuer a service accepts
  (`gateway:<base64url>,accounts:<base64url>,...`; two keys for one issuer during a
  rotation); unset outside production it is the published development keys. A receiver holds public keys only: a compromised preferences service can
  sign as "preferences" and nothing else, and never as the gateway speaking for a customer.
- A shared HS256 secret (development and in-process tests only; refused in production by
  services/common/config.py): anyone holding it may claim any caller.
Keys: `python -m services.common.service_auth keygen gateway accounts transactions preferences`.
"""
from __future__ import annotations

import base64
import hashlib
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, current_app, g, has_app_context, request

from .errors import Problem

ISSUER = "finova-internal"
ALGORITHM = "HS256"  # the shared-secret mode
KEY_ALGORITHM = "EdDSA"  # per-service keys
KEY_PREFIX = "ed25519:"
SERVICES = ("gateway", "accounts", "transactions", "preferences")
DEFAULT_TTL_SECONDS = 60
LEEWAY_SECONDS = 5
# Paths a load balancer or scraper reaches without a token.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_SERVICES_ONLY = frozenset(SERVICES) - {"gateway"}
# (audience or None for any, path prefix, callers allowed); the first match wins. Customers
# come through the gateway only; events and ledger calls come from the services that send them.
EXPECTED_CALLERS: tuple[tuple[str | None, str, frozenset[str]], ...] = (
    (None, "/api/", frozenset({"gateway"})),
    ("accounts", "/internal/auth/", frozenset({"gateway"})),
    (None, "/internal/outbox/", frozenset({"gateway"})),  # admin dead letters, through the gateway
    ("transactions", "/internal/events", frozenset({"accounts"})),
    ("transactions", "/internal/ledger-", frozenset({"accounts"})),
    ("accounts", "/internal/accounts", frozenset({"transactions"})),  # the data-quality comparison
    ("preferences", "/internal/events", frozenset({"accounts", "transactions"})),
    (None, "/internal/", _SERVICES_ONLY),
)


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a customer (with roles), or a service acting for itself."""

    subject: str | None
    roles: tuple[str, ...] = field(default_factory=tuple)
    caller: str = "gateway"

    @property
    def customer_id(self) -> str | None:
        return self.subject

    def has_role(self, role: str) -> bool:
        return role in self.roles


# --- keys -------------------------------------------------------------------------------

def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def is_signing_key(secret: object) -> bool:
    """True for an Ed25519 private key (`ed25519:...`), False for a shared HS256 secret."""
    return isinstance(secret, str) and secret.startswith(KEY_PREFIX)


def signing_key_seed(text: str) -> bytes:
    """The 32 bytes of an `ed25519:` key; ValueError when it is not one."""
    try:
        seed = _b64decode(text[len(KEY_PREFIX):])
    except (ValueError, TypeError):
        raise ValueError("an ed25519: key must be base64url") from None
    if len(seed) != 32:
        raise ValueError(f"an ed25519: key holds 32 bytes, this one {len(seed)}")
    return seed


@lru_cache(maxsize=64)
def _private_key(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(signing_key_seed(text))


@lru_cache(maxsize=256)
def _public_key(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_b64decode(text))


def public_key_of(signing_key: str) -> str:
    raw = _private_key(signing_key).public_key().public_bytes(serialization.Encoding.Raw,
                                                               serialization.PublicFormat.Raw)
    return _b64encode(raw)


def generate_signing_key() -> str:
    return KEY_PREFIX + _b64encode(os.urandom(32))


def development_signing_key(service: str) -> str:
    """The published key of a service in `make up` and the tests; refused in production."""
    return KEY_PREFIX + _b64encode(hashlib.sha256(f"finova-development-internal-key:{service}".encode()).digest())


def trusted_keys_text(signing_keys: Mapping[str, str]) -> str:
    """INTERNAL_TRUSTED_KEYS for the given {issuer: private key}: their public keys."""
    return ",".join(f"{name}:{public_key_of(key)}" for name, key in signing_keys.items())


def development_trusted_keys() -> dict[str, tuple[str, ...]]:
    return {name: (public_key_of(development_signing_key(name)),) for name in SERVICES}


def trusted_keys_for(config: Mapping) -> dict[str, tuple[str, ...]]:
    """INTERNAL_TRUSTED_KEYS of an app; unset outside production: the development keys."""
    keys = parse_trusted_keys(config.get("INTERNAL_TRUSTED_KEYS"))
    if not keys and config.get("FINOVA_ENV") != "production":
        return development_trusted_keys()
    return keys


def parse_signing_secret(raw: str) -> str:
    """INTERNAL_TOKEN_SECRET: an `ed25519:` key, or a shared secret of 32+ characters."""
    if is_signing_key(raw):
        _private_key(raw)  # raises ValueError on a malformed key
        return raw
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters (or an ed25519: key)")
    return raw


def parse_trusted_keys(raw: str | Mapping | None) -> dict[str, tuple[str, ...]]:
    """`issuer:<base64url public key>,...` -> {issuer: (key, ...)}; an issuer may appear twice."""
    if raw is None or isinstance(raw, Mapping):
        return dict(raw or {})
    keys: dict[str, list[str]] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        issuer, sep, key = item.strip().partition(":")
        if not sep or not issuer or not key:
            raise ValueError("expected 'issuer:publickey' pairs separated by commas")
        try:
            if len(_b64decode(key)) != 32:
                raise ValueError
            _public_key(key)
        except (ValueError, TypeError):
            raise ValueError(f"the key of {issuer!r} is not a base64url Ed25519 public key") from None
        keys.setdefault(issuer, []).append(key)
    return {issuer: tuple(values) for issuer, values in keys.items()}


# --- tokens -----------------------------------------------------------------------------

def token_ttl_seconds() -> int:
    """INTERNAL_TOKEN_TTL_SECONDS of the running app, else of the environment (CLIs), else 60."""
    if has_app_context() and current_app.config.get("INTERNAL_TOKEN_TTL_SECONDS"):
        return int(current_app.config["INTERNAL_TOKEN_TTL_SECONDS"])
    try:
        return int(os.environ.get("INTERNAL_TOKEN_TTL_SECONDS", DEFAULT_TTL_SECONDS))
    except ValueError:
        return DEFAULT_TTL_SECONDS


def mint_internal_token(secret: str, audience: str, caller: str, subject: str | None = None,
                        roles: tuple[str, ...] | list[str] = (), ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "caller": caller,
        "roles": list(roles),
        "typ": "internal",
    }
    if subject is not None:
        claims["sub"] = subject
    if is_signing_key(secret):
        return jwt.encode(claims, _private_key(secret), algorithm=KEY_ALGORITHM, headers={"kid": caller})
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail)


def verify_internal_token(token: str, secret: str | None, audience: str,
                          trusted: Mapping[str, tuple[str, ...]] | str | None = None,
                          max_ttl_seconds: int | None = None) -> Principal:
    """The principal of a valid token for `audience`; any flaw is a 401 problem.

    EdDSA tokens are checked against the issuer's trusted public keys (the header's kid names
    the issuer and must equal the caller claim). HS256 tokens are accepted only when this app
    signs with a shared secret itself (`secret` is not an ed25519: key): never in key mode.
    """
    options = {"require": ["exp", "iat", "iss", "aud"]}
    try:
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm == KEY_ALGORITHM:
            issuer = header.get("kid")
            keys = parse_trusted_keys(trusted).get(issuer) if isinstance(issuer, str) else None
            if not keys:
                raise jwt.InvalidTokenError(f"no trusted key for issuer {issuer!r}")
            claims = None
            for key in keys:
                try:
                    claims = jwt.decode(token, _public_key(key), algorithms=[KEY_ALGORITHM], audience=audience,
                                        issuer=ISSUER, options=options, leeway=LEEWAY_SECONDS)
                    break
                except jwt.InvalidSignatureError:
                    continue
            if claims is None:
                raise jwt.InvalidSignatureError("Signature verification failed")
            if claims.get("caller") != issuer:
                raise jwt.InvalidTokenError("the caller is not the issuer")
        elif algorithm == ALGORITHM and secret and not is_signing_key(secret):
            claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=audience, issuer=ISSUER,
                                options=options, leeway=LEEWAY_SECONDS)
        else:
            raise jwt.InvalidTokenError(f"tokens signed with {algorithm!r} are not accepted here")
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"Invalid internal token: {exc}") from None
    if claims.get("typ") != "internal":
        raise _unauthorized("Not an internal token.")
    if max_ttl_seconds is not None and _lifetime(claims) > max_ttl_seconds + LEEWAY_SECONDS:
        raise _unauthorized("Internal token lives longer than INTERNAL_TOKEN_TTL_SECONDS allows.")
    return Principal(subject=claims.get("sub"), roles=tuple(claims.get("roles") or ()),
                     caller=str(claims.get("caller") or "unknown"))


def _lifetime(claims: dict) -> float:
    try:
        return float(claims["exp"]) - float(claims["iat"])
    except (TypeError, ValueError):
        return float("inf")


def expected_callers(audience: str, path: str) -> frozenset[str] | None:
    """The callers allowed on this path of this service (None: any verified caller)."""
    for service, prefix, callers in EXPECTED_CALLERS:
        if (service is None or service == audience) and path.startswith(prefix):
            return callers
    return None


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class VerifiedTokens:
    """Tokens this app has verified, until they expire: callers reuse a token for most of its
    lifetime (http_client.py), and checking an Ed25519 signature again for each request
    would be the guard's whole cost. Only tokens that passed verify_internal_token get in,
    keyed by their exact text, and each leaves at its `exp`, so nothing is accepted that a
    fresh check would refuse."""

    MAX = 10_000

    def __init__(self):
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Principal | None:
        with self._lock:
            entry = self._entries.get(token)
        if entry is None or entry[1] <= time.time():
            return None
        return entry[0]

    def put(self, token: str, principal: Principal) -> None:
        try:
            expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return
        now = time.time()
        with self._lock:
            if len(self._entries) >= self.MAX:
                self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
                if len(self._entries) >= self.MAX:
                    self._entries.clear()
            self._entries[token] = (principal, expires)


def install_internal_guard(app: Flask, audience: str) -> None:
    """Refuse every request to this service that lacks a valid internal token for it (401),
    or whose caller is not one this route expects (403)."""
    secret = app.config["INTERNAL_TOKEN_SECRET"]
    trusted = trusted_keys_for(app.config)
    if not trusted:  # production without INTERNAL_TRUSTED_KEYS: every call would be a 401
        from .config import ConfigError
        raise ConfigError("INTERNAL_TRUSTED_KEYS is not set (the public keys of the callers this service accepts)")
    max_ttl = app.config.get("INTERNAL_TOKEN_TTL_SECONDS")
    verified = VerifiedTokens()

    @app.before_request
    def _require_internal_token() -> None:
        if request.path in OPEN_PATHS:
            return
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise Problem(401, "unauthorized", "An internal service token is required.",
                          headers={"WWW-Authenticate": "Bearer"})
        principal = verified.get(token)
        if principal is None:
            principal = verify_internal_token(token, secret, audience, trusted, max_ttl)
            verified.put(token, principal)
        callers = expected_callers(audience, request.path)
        if callers is not None and principal.caller not in callers:
            raise Problem(403, "forbidden", f"This route does not accept calls from {principal.caller!r}.")
        g.principal = principal


def current_principal() -> Principal:
    return g.principal


def require_role(role: str) -> Principal:
    principal = current_principal()
    if not principal.has_role(role):
        raise Problem(403, "forbidden", f"The {role} role is required.")
    return principal


def require_customer() -> str:
    principal = current_principal()
    if not principal.customer_id:
        raise Problem(401, "unauthorized", "This resource needs a signed-in customer.")
    return principal.customer_id


def _keygen(names: list[str]) -> int:
    """Print a fresh key per service and the INTERNAL_TRUSTED_KEYS line for all of them."""
    keys = {name: generate_signing_key() for name in names or SERVICES}
    for name, key in keys.items():
        print(f"{name.upper()}_INTERNAL_TOKEN_SECRET={key}")
    print(f"INTERNAL_TRUSTED_KEYS={trusted_keys_text(keys)}")
    return 0


if __name__ == "__main__":  # python -m services.common.service_auth keygen [service ...]
    if len(sys.argv) < 2 or sys.argv[1] != "keygen":
        print("usage: python -m services.common.service_auth keygen [service ...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(_keygen(sys.argv[2:]))
