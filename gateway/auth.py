"""Customer authentication at the gateway: login, refresh, logout, and the check on every route.

The accounts service checks passwords and keeps refresh-token hashes (/internal/auth/*); the
gateway signs access tokens and hands out refresh tokens. The gateway passes refresh tokens
to the accounts service as they are (it hashes them itself, so no endpoint accepts a hash)
and, on login, the client's address as the gateway sees it (after TRUSTED_PROXY_HOPS): the
accounts service throttles failed logins per email and address. Every other /api/v1 route needs a
valid access token, except the public ones below and the OpenAPI document; health,
readiness, metrics and the docs page are not under /api/v1.
"""
from __future__ import annotations

import marshmallow as ma
import requests
from flask import Response, current_app, g, jsonify, request
from flask_smorest import Blueprint

from services.common.errors import Problem
from services.common.openapi import problem_alt
from services.common.service_auth import Principal, bearer_token

from .tokens import AccessTokens, new_refresh_token, unauthorized
from .upstreams import Upstream, UpstreamUnavailable

# Forwarded upstream without a customer: nobody is signed in yet.
PUBLIC_ROUTES = frozenset({("POST", "/api/v1/auth/register")})
PASSED_HEADERS = ("Retry-After", "WWW-Authenticate")

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign in, refresh, sign out.")


# For the OpenAPI document only: the bodies are read by _fields below.
# What _fields() accepts: each a non-empty string.
NON_EMPTY = ma.validate.Length(min=1)


class LoginSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=NON_EMPTY)
    password = ma.fields.String(required=True, validate=NON_EMPTY)


class RefreshTokenSchema(ma.Schema):
    refresh_token = ma.fields.String(required=True, validate=NON_EMPTY)


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"example": 900})


def _body(schema: type[ma.Schema]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def authenticate() -> Principal:
    """The principal for a proxied request: anonymous on public routes, else the token's customer."""
    if (request.method, request.path.rstrip("/")) in PUBLIC_ROUTES:
        return Principal(subject=None)
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise unauthorized("An access token is required: Authorization: Bearer <token>.")
    if "access_principal" not in g:
        g.access_principal = _tokens().verify(token)
    return g.access_principal


def verified_customer_id() -> str | None:
    """The customer of a valid access token on this request, else None (never raises)."""
    try:
        return authenticate().customer_id
    except Problem:
        return None


def client_address() -> str:
    # remote_addr is the peer, or the client named by X-Forwarded-For when ProxyFix trusts
    # TRUSTED_PROXY_HOPS proxies (gateway/security.py): a client cannot pick its own.
    return request.remote_addr or "unknown"


def _tokens() -> AccessTokens:
    return current_app.extensions["access_tokens"]


def _accounts() -> Upstream:
    return current_app.extensions["upstreams"]["accounts"]


def _fields(*names: str) -> dict[str, str]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "malformed_request", "The body must be a JSON object.")
    errors = {name: ["Missing or not a string."] for name in names
              if not isinstance(body.get(name), str) or not body.get(name)}
    if errors:
        raise Problem(422, "validation_error", "The request has invalid fields.", errors=errors)
    return {name: body[name] for name in names}


def _call_accounts(path: str, payload: dict, subject: str | None = None) -> requests.Response | Response:
    """POST to the accounts service; its problems pass through, an outage is a 503."""
    upstream = _accounts().post(path, json=payload, subject=subject)
    if upstream.status_code >= 500:
        raise UpstreamUnavailable("accounts", "The accounts service is unavailable.")
    return upstream


def _passed_through(upstream: requests.Response) -> Response:
    response = Response(upstream.content, status=upstream.status_code,
                        content_type=upstream.headers.get("Content-Type", "application/problem+json"))
    for name in PASSED_HEADERS:
        if name in upstream.headers:
            response.headers[name] = upstream.headers[name]
    return response


def _token_pair(identity: dict, refresh_token: str) -> Response:
    tokens = _tokens()
    body = {"access_token": tokens.issue(identity["customer_id"], identity["roles"]),
            "refresh_token": refresh_token, "token_type": "Bearer", "expires_in": tokens.ttl_seconds}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.post("/login")
@blp.doc(**_body(LoginSchema), security=[])
@blp.response(200, TokenPairSchema)
@problem_alt(blp, 401, "Bad credentials (invalid_credentials).")
@problem_alt(blp, 429, "Too many attempts (rate_limited), with Retry-After.")
def login():
    """Email and password in, an access token and a refresh token out."""
    fields = _fields("email", "password")
    refresh_token = new_refresh_token()
    upstream = _call_accounts("/internal/auth/login", {**fields, "refresh_token": refresh_token,
                                                       "client_address": client_address()})
    if upstream.status_code != 200:
        return _passed_through(upstream)
    return _token_pair(upstream.json(), refresh_token)


@blp.post("/refresh")
@blp.doc(**_body(RefreshTokenSchema), security=[])
@blp.response(200, TokenPairSchema)
@problem_alt(blp, 401, "Unknown, spent or revoked refresh token.")
def refresh():
    """A refresh token in (it is spent), a new pair out; a reused one revokes its family."""
    old = _fields("refresh_token")["refresh_token"]
    new = new_refresh_token()
    upstream = _call_accounts("/internal/auth/refresh", {"refresh_token": old, "new_refresh_token": new})
    if upstream.status_code != 200:
        return _passed_through(upstream)
    return _token_pair(upstream.json(), new)


@blp.post("/logout")
@blp.doc(**_body(RefreshTokenSchema))
@blp.response(204)
def logout():
    """Revoke the refresh token's family; needs the access token of the same customer."""
    principal = authenticate()
    token = _fields("refresh_token")["refresh_token"]
    upstream = _call_accounts("/internal/auth/logout", {"refresh_token": token},
                              subject=principal.customer_id)
    if upstream.status_code != 204:
        return _passed_through(upstream)
    return Response(status=204)
