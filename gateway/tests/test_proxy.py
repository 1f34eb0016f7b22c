"""The gateway's routing and forwarding, against stand-in upstreams over real HTTP."""
import time

import pytest
from flask import Flask, request

from devstack.stack import free_port
from gateway.app import create_app
from gateway.routes import DEFAULT_ROUTES, RouteTable
from services.common.service_auth import verify_internal_token
from tests.support.servers import serving
from tests.support.tokens import TEST_SECRET

from .conftest import TEST_JWT_KEYS, bearer, gateway_for


@pytest.mark.parametrize("path,service", [
    ("/api/v1/auth/login", "accounts"),
    ("/api/v1/me", "accounts"),
    ("/api/v1/accounts", "accounts"),
    ("/api/v1/accounts/a1", "accounts"),
    ("/api/v1/accounts/a1/close", "accounts"),
    ("/api/v1/accounts/a1/transactions", "transactions"),
    ("/api/v1/transfers/t1/reverse", "transactions"),
    ("/api/v1/admin/deposits", "transactions"),
    ("/api/v1/admin/accounts/a1/freeze", "accounts"),
    ("/api/v1/preferences", "preferences"),
    ("/api/v1/notifications/n1/read", "preferences"),
    ("/api/v1/accountsx", None),
    ("/api/v1/internal/events", None),
])
def test_route_table_follows_the_api_contract(path, service):
    assert RouteTable.from_pairs(DEFAULT_ROUTES).service_for(path) == service


def echo_upstream(name):
    app = Flask(name)

    @app.route("/api/v1/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def echo(_rest):
        principal = verify_internal_token(request.headers["Authorization"].split()[1], TEST_SECRET, name)
        return {"service": name, "path": request.full_path, "method": request.method,
                "body": request.get_data(as_text=True), "headers": dict(request.headers),
                "subject": principal.subject, "roles": list(principal.roles)}, 201, {"ETag": '"v1"', "Set-Cookie": "x=y"}
    return app


def test_forwards_to_the_owner_with_an_internal_token_and_nothing_smuggled():
    with serving(echo_upstream("transactions")) as upstream:
        gateway = gateway_for(transactions=upstream.url).test_client()
        response = gateway.post(
            "/api/v1/transfers?dry=1", data='{"amount": "1.00"}', content_type="application/json",
            headers={**bearer("cust-1", ("customer",)), "X-Customer-Id": "someone-else",
                     "X-Internal-Token": "forged", "Idempotency-Key": "k1", "X-Request-ID": "req-9"})
    assert response.status_code == 201
    seen = response.get_json()
    assert seen["service"] == "transactions" and seen["path"] == "/api/v1/transfers?dry=1"
    assert seen["body"] == '{"amount": "1.00"}'
    assert seen["headers"]["Idempotency-Key"] == "k1"
    assert seen["headers"]["X-Request-Id"] == "req-9"
    assert "X-Customer-Id" not in seen["headers"] and "X-Internal-Token" not in seen["headers"]
    assert seen["subject"] == "cust-1" and seen["roles"] == ["customer"]
    assert response.headers["ETag"] == '"v1"' and "Set-Cookie" not in response.headers
    assert response.headers["X-Request-ID"] == "req-9"


def test_a_down_upstream_is_a_quick_503_problem():
    gateway = gateway_for(accounts=f"http://127.0.0.1:{free_port()}").test_client()
    started = time.monotonic()
    response = gateway.get("/api/v1/account-types", headers=bearer())
    assert time.monotonic() - started < 2
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "service_unavailable"
    assert response.get_json()["service"] == "accounts"


def test_a_hanging_upstream_is_a_503_within_the_read_timeout():
    slow = Flask("slow")

    @slow.get("/api/v1/currencies")
    def currencies():
        time.sleep(3)
        return []
    with serving(slow) as upstream:
        gateway = gateway_for(transactions=upstream.url).test_client()
        started = time.monotonic()
        # A GET may be retried; the deadline is read timeout x attempts, never a hang.
        response = gateway.get("/api/v1/currencies", headers=bearer())
    assert response.status_code == 503 and time.monotonic() - started < 4


def test_unknown_paths_are_404_problems():
    response = gateway_for().test_client().get("/api/v1/nowhere")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_readyz_checks_each_service():
    down = f"http://127.0.0.1:{free_port()}"
    response = gateway_for(accounts=down, transactions=down, preferences=down).test_client().get("/readyz")
    assert response.status_code == 503
    assert set(response.get_json()["checks"]) == {"accounts", "transactions", "preferences"}


def test_a_malformed_route_table_stops_the_gateway_at_start(monkeypatch):
    from services.common.config import ConfigError
    monkeypatch.setenv("GATEWAY_ROUTES", "[[1]]")
    monkeypatch.setenv("JWT_SIGNING_KEYS", TEST_JWT_KEYS)
    with pytest.raises(ConfigError, match="GATEWAY_ROUTES is malformed"):
        create_app({"INTERNAL_TOKEN_SECRET": TEST_SECRET})


@pytest.mark.parametrize("value", ["abc\tdef", "caf\u00e9", "x\x7f"])
def test_a_forwarded_header_with_a_control_or_non_ascii_character_is_422_and_not_sent(value):
    seen = []
    app = Flask("transactions")

    @app.post("/api/v1/transfers")
    def transfers():
        seen.append(request.headers.get("Idempotency-Key"))
        return {}, 201
    with serving(app) as upstream:
        gateway = gateway_for(transactions=upstream.url).test_client()
        response = gateway.post("/api/v1/transfers", json={}, headers={**bearer(), "Idempotency-Key": value})
        assert response.status_code == 422 and response.get_json()["code"] == "validation_error"
        assert list(response.get_json()["errors"]) == ["Idempotency-Key"]
        assert gateway.post("/api/v1/transfers", json={}, headers={**bearer(), "Idempotency-Key": "k-1"}).status_code == 201
    assert seen == ["k-1"]
