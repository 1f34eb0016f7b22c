"""Path hygiene at the gateway (API.md "Input that is never a 5xx", "Order of checks"): dot
segments, encoded dots, slashes, backslashes and NUL, raw backslashes and empty segments are
400 `invalid_path` before authentication, with or without a token; nothing under /internal
is ever forwarded (404). Sent with http.client so the target reaches the gateway untouched."""
from __future__ import annotations

import hashlib
import json
import secrets

import pytest

from .conftest import assert_problem, send_raw

pytestmark = [pytest.mark.e2e, pytest.mark.security]

LOGIN = json.dumps({"email": "victim@example.com", "password": "whatever-it-is-123",
                    "refresh_token_hash": "0" * 64})

# Each reaches for the accounts service's /internal/auth/login (the issue's reproduction) or
# walks the path some other way; every one must stop at the gateway.
BAD_TARGETS = [
    "/api/v1/me/../../../internal/auth/login",
    "/api/v1/accounts/../../../internal/auth/login",
    "/api/v1/accounts/%2e%2e/%2e%2e/%2e%2e/internal/auth/login",
    "/api/v1/accounts/%2E%2E/%2E%2E/%2E%2E/internal/auth/login",
    "/api/v1/accounts/.%2e/.%2E/%2e./internal/auth/login",
    "/api/v1/accounts/%2e%2e%2f%2e%2e%2f%2e%2e%2finternal%2fauth%2flogin",
    "/api/v1/accounts/..%2F..%2F..%2Finternal/auth/login",
    "/api/v1/accounts/..%5c..%5c..%5cinternal/auth/login",
    "/api/v1/accounts/..%5C..%5C..%5Cinternal/auth/login",
    "/api/v1/accounts\\..\\..\\..\\internal\\auth\\login",
    "/api/v1/accounts/x\\y",
    "/api/v1/./me",
    "/api/v1/me/.",
    "/api/v1/me/..",
    "/api/v1/accounts/%2e",
    "/api/v1/accounts/%2fetc%2fpasswd",
    "/api/v1/accounts/%00",
    "/api/v1/accounts/abc%00def/transactions",
    "/api/v1//me",
    "/api/v1/accounts//transactions",
    "//api/v1/me",
]


@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "customer"])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("target", BAD_TARGETS)
def test_a_bad_path_is_400_invalid_path_before_authentication(gateway, intruder, target, method, with_token):
    headers = intruder.auth if with_token else {}
    response = send_raw(gateway, method, target, LOGIN if method == "POST" else None, headers)
    assert_problem(response, 400, "invalid_path")


@pytest.mark.parametrize("target", [
    "/internal/auth/login", "/internal/auth/refresh", "/internal/events", "/internal/ledger-accounts",
    "/api/v1/internal/auth/login",
])
@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "customer"])
def test_nothing_under_internal_is_reachable_through_the_gateway(gateway, intruder, target, with_token):
    response = send_raw(gateway, "POST", target, LOGIN, intruder.auth if with_token else {})
    assert_problem(response, 404, "not_found")


def test_the_refresh_token_hash_trick_of_the_issue_gives_no_session(gateway, intruder):
    """Issue 13, finding 1: a login through traversal with a hash the attacker chose, then
    /auth/refresh with the token behind that hash. Neither step may work."""
    chosen = "frt_" + secrets.token_urlsafe(32)  # shaped like the gateway's own
    body = json.dumps({"email": intruder.email, "password": "Correct-Horse-42-battery",
                       "refresh_token_hash": hashlib.sha256(chosen.encode()).hexdigest()})
    login = send_raw(gateway, "POST", "/api/v1/me/../../../internal/auth/login", body, intruder.auth)
    assert_problem(login, 400, "invalid_path")
    refreshed = send_raw(gateway, "POST", "/api/v1/auth/refresh", json.dumps({"refresh_token": chosen}))
    assert_problem(refreshed, 401)


@pytest.mark.parametrize("target", [
    "/api/v1/accounts/%252e%252e/%252e%252e/%252e%252e/internal/auth/login",  # encoded twice
    "/api/v1/accounts/%u002e%u002e/internal",  # IIS-style escapes: not decoded by anyone here
    "/api/v1/accounts/..;/..;/internal/auth/login",  # Tomcat-style path parameters
    "/api/v1/accounts/%c0%ae%c0%ae/internal",  # overlong UTF-8 dots
    "/api/v1/accounts/%ff%fe",  # not UTF-8 (Werkzeug keeps such escapes undecoded)
    "/api/v1/accounts/%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    "/api/v1/accounts/%01%1b%7f",  # control characters
    "/api/v1/accounts/" + "a" * 3000,  # a long id, under the request-line limit
])
def test_lookalike_encodings_never_reach_a_service_unrouted(gateway, intruder, target):
    """Not named by the rules, so 400 or 404 are both right; a 2xx or a 5xx is not."""
    response = send_raw(gateway, "GET", target, None, intruder.auth)
    body = assert_problem(response, response.status)
    assert response.status in (400, 404), (response.status, body)


def test_a_normal_path_still_works_after_the_rules(gateway, intruder):
    response = send_raw(gateway, "GET", "/api/v1/me", None, intruder.auth)
    assert response.status == 200, response.body
    assert response.json()["id"] == intruder.id
    statement = send_raw(gateway, "GET", f"/api/v1/accounts/{intruder.account}/transactions?limit=5", None,
                         intruder.auth)
    assert statement.status == 200, statement.body


@pytest.mark.parametrize("length", [5000, 9000])
def test_a_request_line_too_long_is_a_414_problem(gateway, intruder, length):
    """gunicorn refuses request lines past its limit (4,094 bytes by default) before any app
    code runs; the answer must still be problem+json like every other error."""
    response = send_raw(gateway, "GET", "/api/v1/accounts?cursor=" + "a" * length, None, intruder.auth)
    assert_problem(response, 414)
