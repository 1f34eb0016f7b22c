"""Customer authentication at the gateway: login, refresh, logout, and the check on every route.

The accounts service checks passwords and keeps refresh-token hashes (/internal/auth/*); the
gateway signs access tokens and hands out refresh tokens. Every other /api/v1 route needs a
valid access token, except the public ones below; health, readiness, metrics and docs are
not under /api/v1.
"""
from __future__ import annotations

import logging

import requests
from flask import Blueprint, Response, current_app, jsonify, request

from services.common.http_client import ServiceClient
from services.common.problems import Problem
from services.common.service_auth import Principal, bearer_token

from .tokens import AccessTokens, new_refresh_token, refresh_token_hash, unauthorized

log = logging.getLogger(__name__)
# Forwarded upstream without a customer: nobody is signed in yet.
PUBLIC_ROUTES = frozenset({("POST", "/api/v1/auth/register")})
PASSED_HEADERS = ("Retry-After", "WWW-Authenticate")

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


def authenticate() -> Principal:
    """The principal for a proxied request: anonymous on public routes, else the token's customer."""
    if (request.method, request.path.rstrip("/")) in PUBLIC_ROUTES:
        return Principal(subject=None)
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise unauthorized("An access token is required: Authorization: Bearer <token>.")
    return _tokens().verify(token)


def _tokens() -> AccessTokens:
    return current_app.extensions["access_tokens"]


def _accounts() -> ServiceClient:
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
    try:
        upstream = _accounts().post(path, json=payload, subject=subject)
    except requests.RequestException as exc:
        log.warning("accounts unavailable for auth", extra={"error": str(exc)})
        raise Problem(503, "service_unavailable", "The accounts service is unavailable.",
                      headers={"Retry-After": "1"}, service="accounts") from None
    if upstream.status_code >= 500:
        raise Problem(503, "service_unavailable", "The accounts service is unavailable.",
                      headers={"Retry-After": "1"}, service="accounts")
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
def login():
    """Email and password in, an access token and a refresh token out."""
    fields = _fields("email", "password")
    refresh_token = new_refresh_token()
    upstream = _call_accounts("/internal/auth/login", {**fields, "refresh_token_hash": refresh_token_hash(refresh_token)})
    if upstream.status_code != 200:
        return _passed_through(upstream)
    return _token_pair(upstream.json(), refresh_token)


@blp.post("/refresh")
def refresh():
    """A refresh token in (it is spent), a new pair out; a reused one revokes its family."""
    old = _fields("refresh_token")["refresh_token"]
    new = new_refresh_token()
    upstream = _call_accounts("/internal/auth/refresh", {"refresh_token_hash": refresh_token_hash(old),
                                                         "new_refresh_token_hash": refresh_token_hash(new)})
    if upstream.status_code != 200:
        return _passed_through(upstream)
    return _token_pair(upstream.json(), new)


@blp.post("/logout")
def logout():
    """Revoke the refresh token's family; needs the access token of the same customer."""
    principal = authenticate()
    token = _fields("refresh_token")["refresh_token"]
    upstream = _call_accounts("/internal/auth/logout", {"refresh_token_hash": refresh_token_hash(token)},
                              subject=principal.customer_id)
    if upstream.status_code != 204:
        return _passed_through(upstream)
    return Response(status=204)
