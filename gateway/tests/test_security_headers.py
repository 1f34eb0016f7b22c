"""Security headers, CORS and request ids on every gateway answer, errors included."""
import pytest
from flask import Flask

from devstack.stack import free_port
from tests.support.servers import serving

from .conftest import bearer, gateway_for

APP_ORIGIN = "https://app.finovabank.example"


@pytest.fixture(scope="module")
def upstream():
    app = Flask("accounts")

    @app.get("/api/v1/me")
    def me():
        return {"id": "c1"}, 200, {"ETag": '"v1"'}
    with serving(app) as server:
        yield server


@pytest.fixture
def gateway(upstream):
    return gateway_for(accounts=upstream.url, CORS_ORIGINS=[APP_ORIGIN], RATE_LIMIT_PER_IP="6/minute").test_client()


def answers(gateway):
    """One answer of each kind: 200, 401, 404, 413, 405, 429, 503, health and docs."""
    yield gateway.get("/api/v1/me", headers=bearer())
    yield gateway.get("/api/v1/me")
    yield gateway.get("/api/v1/nowhere", headers=bearer())
    yield gateway.post("/api/v1/accounts", data="x" * 1_100_000, content_type="application/json", headers=bearer())
    yield gateway.post("/healthz")
    # Three /api requests above count (the oversized body is refused by the body rules before
    # the limits count it); six allowed.
    for _ in range(4):
        last = gateway.get("/api/v1/me", headers=bearer())
    yield last
    yield gateway_for(preferences=f"http://127.0.0.1:{free_port()}").test_client().get(
        "/api/v1/preferences", headers=bearer())
    yield gateway.get("/healthz")
    yield gateway.get("/docs/")


def test_every_answer_carries_the_security_headers_and_a_request_id(gateway):
    statuses = []
    for response in answers(gateway):
        statuses.append(response.status_code)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Request-ID"]
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP
        if response.request.path.startswith("/api"):
            assert response.headers["Cache-Control"] == "no-store"
    assert statuses == [200, 401, 404, 413, 405, 429, 503, 200, 200]


def test_a_client_request_id_is_echoed(gateway):
    assert gateway.get("/api/v1/nowhere", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"


def test_hsts_only_when_the_client_came_over_tls(gateway):
    behind_tls = gateway.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    direct_tls = gateway.get("/healthz", base_url="https://localhost")
    assert "Strict-Transport-Security" in direct_tls.headers


def test_cors_answers_only_configured_origins(gateway):
    allowed = gateway.get("/api/v1/me", headers={**bearer(), "Origin": APP_ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    other = gateway.get("/api/v1/me", headers={**bearer(), "Origin": "https://evil.example"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers


def test_a_preflight_from_an_allowed_origin_needs_no_token(gateway):
    preflight = gateway.options("/api/v1/transfers", headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Idempotency-Key, Content-Type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "idempotency-key" in allowed
    refused = gateway.options("/api/v1/transfers", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_without_configured_origins_no_cors_at_all(upstream):
    gateway = gateway_for(accounts=upstream.url).test_client()
    response = gateway.get("/api/v1/me", headers={**bearer(), "Origin": APP_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_malformed_origins_stop_the_gateway_at_start(monkeypatch):
    from gateway.app import create_app
    from services.common.config import ConfigError
    from tests.support.tokens import TEST_SECRET
    from .conftest import TEST_JWT_KEYS
    monkeypatch.setenv("CORS_ORIGINS", "*")
    monkeypatch.setenv("JWT_SIGNING_KEYS", TEST_JWT_KEYS)
    with pytest.raises(ConfigError, match="CORS_ORIGINS is malformed"):
        create_app({"INTERNAL_TOKEN_SECRET": TEST_SECRET})
