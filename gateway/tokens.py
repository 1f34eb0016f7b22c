"""Customer access tokens (JWT) and refresh tokens, made and checked at the gateway.

Access token: HS256 JWT, header {"alg": "HS256", "typ": "JWT", "kid": "<key id>"}, claims
iss, aud, sub (customer id), roles, iat, exp (15 minutes), jti, typ "access".
JWT_SIGNING_KEYS is "kid2:secret2,kid1:secret1": the first key signs, every listed key
verifies. To rotate: put the new key first, deploy, and drop the old one once the access
token lifetime has passed. A token whose kid is not listed is refused.

Refresh token: 256 random bits (URL-safe base64) with a "frt_" prefix, opaque to clients;
only its SHA-256 hex digest leaves the gateway (stored by the accounts service).
"""
from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field

import jwt

from services.common.errors import Problem
from services.common.service_auth import Principal

ALGORITHM = "HS256"
REFRESH_PREFIX = "frt_"
# Access tokens verified once and trusted until their exp (one per active customer session).
MAX_VERIFIED = 50_000


def parse_signing_keys(raw: str) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for item in raw.split(","):
        kid, sep, secret = item.strip().partition(":")
        if not sep or not kid:
            raise ValueError("expected 'kid:secret' pairs separated by commas")
        if len(secret) < 32:
            raise ValueError(f"the secret of key {kid!r} must be at least 32 characters")
        keys.append((kid, secret))
    if len({kid for kid, _ in keys}) != len(keys):
        raise ValueError("key ids must be unique")
    return keys


@dataclass(frozen=True)
class AccessTokens:
    keys: tuple[tuple[str, str], ...]
    issuer: str
    audience: str
    ttl_seconds: int = 900
    # token -> (principal, exp): a customer's requests share one signature check per token.
    # Only tokens that passed every check get in; a hit is still refused once exp has passed,
    # exactly when PyJWT would refuse it. The keys are fixed for the process, so a key that
    # is removed (a restart with new JWT_SIGNING_KEYS) takes its tokens' entries with it.
    _verified: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def issue(self, customer_id: str, roles: list[str] | tuple[str, ...]) -> str:
        kid, secret = self.keys[0]
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": customer_id, "roles": list(roles),
                  "iat": now, "exp": now + self.ttl_seconds, "jti": uuid.uuid4().hex, "typ": "access"}
        return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})

    def verify(self, token: str) -> Principal:
        """The customer the token speaks for; any flaw is a 401 problem."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires_at = self._check(token)
        if len(self._verified) >= MAX_VERIFIED:
            now = time.time()
            for stale in [t for t, (_, exp) in list(self._verified.items()) if exp <= now]:
                self._verified.pop(stale, None)
            if len(self._verified) >= MAX_VERIFIED:
                self._verified.clear()
        self._verified[token] = (principal, expires_at)
        return principal

    def _check(self, token: str) -> tuple[Principal, int]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            secret = dict(self.keys).get(kid) if isinstance(kid, str) else None
            if secret is None:
                raise jwt.InvalidTokenError("unknown or missing key id")
            claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=self.audience,
                                issuer=self.issuer, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Invalid access token: {exc}") from None
        if claims.get("typ") != "access":
            raise unauthorized("Not an access token.")
        return (Principal(subject=str(claims["sub"]), roles=tuple(claims.get("roles") or ()), caller="gateway"),
                int(claims["exp"]))


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="finova"'})


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
