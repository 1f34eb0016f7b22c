"""Issue 13's traversal (and gunicorn's own refusals, and chunked bodies), against a real gunicorn gateway: the raw request target is judged
(http.client sends the path exactly as written, like `curl --path-as-is`), so
`/api/v1/me/../../../internal/auth/login` and its encoded variants are 400 `invalid_path`,
`/internal/...` is 404, and the stand-in services behind the gateway never see any of them.
"""
import http.client
import json

import pytest
from flask import Flask, request

from devstack.stack import free_port, start_app, stop_process, wait_until_healthy
from tests.support.servers import serving
from tests.support.tokens import TEST_JWT_SIGNING_KEYS, gateway_environment

from .test_gateway_processes import access_header

pytestmark = pytest.mark.e2e

ATTACKS = [
    "/api/v1/me/../../../internal/auth/login",
    "/api/v1/accounts/%2e%2e/%2e%2e/%2e%2e/internal/auth/login",
    "/api/v1/accounts/%2E%2E/%2E%2E/%2E%2E/internal/auth/login",
    "/api/v1/accounts/%252e%252e/%252e%252e/%252e%252e/internal/auth/login",
    "/api/v1/me/./../../internal/auth/login",
    "/api/v1/accounts/x%2f..%2f..%2f..%2finternal%2fauth%2flogin",
    "/api/v1/accounts/x%5c..%5cinternal",
    "/api/v1/accounts/x%00",
    "//api/v1/me",
    "/api/v1//me",
]


def recording(name, seen):
    app = Flask(name)

    @app.route("/", defaults={"rest": ""}, methods=["GET", "POST"])
    @app.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def anything(rest):
        seen.append((name, request.environ.get("RAW_URI")))
        return {"service": name, "status": "ok", "body_length": len(request.get_data())}
    return app


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    seen = []
    with serving(recording("accounts", seen)) as accounts, serving(recording("transactions", seen)) as transactions, \
            serving(recording("preferences", seen)) as preferences:
        port, log_dir = free_port(), tmp_path_factory.mktemp("path-hygiene-logs")
        environment = {**gateway_environment(), "JWT_SIGNING_KEYS": TEST_JWT_SIGNING_KEYS, "WEB_CONCURRENCY": "1",
                       "LOG_LEVEL": "WARNING", "ACCOUNTS_URL": accounts.url, "TRANSACTIONS_URL": transactions.url,
                       "PREFERENCES_URL": preferences.url}
        process = start_app("gateway", port, environment, log_dir)
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}", process, log_dir / "gateway.log", 60)
            yield port, seen
        finally:
            stop_process(process)


def raw_request(port, method, path, headers=None, body=None):
    """One request with the target exactly as given (no client-side normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", ATTACKS)
def test_traversal_through_gunicorn_is_400_and_never_forwarded(gateway, path):
    port, seen = gateway
    seen.clear()
    body = json.dumps({"email": "victim@example.com", "password": "x", "refresh_token_hash": "0" * 64})
    for headers in ({**access_header(), "Content-Type": "application/json"}, {"Content-Type": "application/json"}):
        status, response_headers, raw = raw_request(port, "POST", path, headers, body)
        assert status == 400, (path, status, raw)
        assert response_headers["Content-Type"] == "application/problem+json"
        assert json.loads(raw)["code"] == "invalid_path"
        assert response_headers["Cache-Control"] == "no-store"
    assert seen == [], seen


@pytest.mark.parametrize("path", ["/internal/auth/login", "/INTERNAL/auth/login", "/%69nternal/auth/login",
                                  "/internal/events"])
def test_internal_through_gunicorn_is_404_and_never_forwarded(gateway, path):
    port, seen = gateway
    seen.clear()
    status, headers, raw = raw_request(port, "POST", path, {**access_header(), "Content-Type": "application/json"},
                                       json.dumps({"email": "a@b.c", "password": "x"}))
    assert status == 404 and json.loads(raw)["code"] == "not_found", raw
    assert seen == []


def test_a_clean_path_still_reaches_its_service(gateway):
    port, seen = gateway
    seen.clear()
    status, headers, raw = raw_request(port, "GET", "/api/v1/me", access_header())
    assert status == 200 and json.loads(raw)["service"] == "accounts", raw
    assert headers["Cache-Control"] == "no-store"
    assert seen == [("accounts", "/api/v1/me")]


def chunked_request(port, path, body: bytes, headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", path)
        for name, value in {**headers, "Transfer-Encoding": "chunked", "Content-Type": "application/json"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        for start in range(0, len(body), 65536):
            piece = body[start:start + 65536]
            connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_a_chunked_body_past_the_limit_is_413_and_one_within_it_arrives_whole(gateway):
    port, seen = gateway
    seen.clear()
    big = json.dumps({"nickname": "x" * (1024 * 1024 + 10)}).encode()
    status, headers, raw = chunked_request(port, "/api/v1/accounts", big, access_header())
    assert status == 413 and json.loads(raw)["code"] == "payload_too_large", raw
    assert seen == []
    small = json.dumps({"nickname": "y" * 200_000}).encode()
    status, headers, raw = chunked_request(port, "/api/v1/accounts", small, access_header())
    assert status == 200, raw
    assert json.loads(raw)["body_length"] == len(small)  # not cut short on the way


@pytest.mark.parametrize("request_line_length", [5000, 9000])
def test_gunicorns_own_refusals_are_problem_json(gateway, request_line_length):
    port, seen = gateway
    seen.clear()
    status, headers, raw = raw_request(port, "GET", "/api/v1/accounts?cursor=" + "a" * request_line_length,
                                       access_header())
    assert status == 414 and headers["Content-Type"] == "application/problem+json"
    assert json.loads(raw)["code"] == "uri_too_long"
    status, headers, raw = raw_request(port, "POST", "/api/v1/transfers", {**access_header(),
                                                                          "Idempotency-Key": "abc\x01def"}, b"{}")
    assert status == 400 and headers["Content-Type"] == "application/problem+json", raw
    assert json.loads(raw)["code"] == "bad_request" and "abc" not in raw.decode()
    assert seen == []
