"""Internal service tokens: short-lived HS256 JWTs naming the target service as audience.

The gateway mints one per forwarded request (carrying the customer id and roles); services
mint one when they call each other. A service answers 401 to any request without a valid
token for itself, so reaching a service directly gives nothing.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import jwt
from flask import Flask, g, request

from .problems import Problem

ISSUER = "finova-internal"
ALGORITHM = "HS256"
# Paths a load balancer or scraper reaches without a token.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


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


def mint_internal_token(secret: str, audience: str, caller: str, subject: str | None = None,
                        roles: tuple[str, ...] | list[str] = (), ttl_seconds: int = 60) -> str:
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
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_internal_token(token: str, secret: str, audience: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=audience, issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud"]}, leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise Problem(401, "unauthorized", f"Invalid internal token: {exc}") from None
    if claims.get("typ") != "internal":
        raise Problem(401, "unauthorized", "Not an internal token.")
    return Principal(subject=claims.get("sub"), roles=tuple(claims.get("roles") or ()),
                     caller=str(claims.get("caller") or "unknown"))


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def install_internal_guard(app: Flask, audience: str) -> None:
    """Refuse every request to this service that lacks a valid internal token."""
    secret = app.config["INTERNAL_TOKEN_SECRET"]

    @app.before_request
    def _require_internal_token() -> None:
        if request.path in OPEN_PATHS:
            return
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise Problem(401, "unauthorized", "An internal service token is required.",
                          headers={"WWW-Authenticate": "Bearer"})
        g.principal = verify_internal_token(token, secret, audience)


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
