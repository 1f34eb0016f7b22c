"""What every service gets from create_service_app: errors, request ids, health, metrics, auth."""
import json
import logging
import time

import jwt
import marshmallow as ma
import pytest
from flask_smorest import Blueprint

from services.common.app_factory import create_service_app
from services.common.errors import Problem
from services.common.health import add_readiness_check
from tests.support.tokens import TEST_SECRET, FreshAuthHeader


class PaymentSchema(ma.Schema):
    amount = ma.fields.Decimal(required=True, as_string=True)
    meta = ma.fields.Nested(ma.Schema.from_dict({"note": ma.fields.String(required=True)}))


def build_app(**config):
    app, api = create_service_app("demo", [], {"INTERNAL_TOKEN_SECRET": TEST_SECRET,
                                               "MAX_CONTENT_LENGTH": 1024, **config})
    blp = Blueprint("demo", __name__, url_prefix="/api/v1")

    @blp.post("/payments")
    @blp.arguments(PaymentSchema)
    def create_payment(payment):
        return {"amount": str(payment["amount"])}, 201

    @blp.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    @blp.get("/conflict")
    def conflict():
        raise Problem(409, "account_frozen", "The account is frozen.", account_id="a1")

    api.register_blueprint(blp)
    return app


@pytest.fixture
def client():
    return build_app().test_client()


AUTH = FreshAuthHeader("demo")


def assert_problem(response, status, code):
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["code"] == code
    assert {"type", "title", "detail"} <= body.keys()
    return body


def test_unknown_path_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/nothing", headers=AUTH), 404, "not_found")


def test_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/api/v1/payments", headers=AUTH)
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_oversized_body_is_a_413_problem(client):
    response = client.post("/api/v1/payments", headers=AUTH, data="x" * 5000,
                           content_type="application/json")
    assert_problem(response, 413, "payload_too_large")


def test_unexpected_error_is_a_500_problem_without_internals(client, caplog):
    with caplog.at_level(logging.ERROR):
        body = assert_problem(client.get("/api/v1/boom", headers=AUTH), 500, "internal_error")
    assert "kaput" not in json.dumps(body)
    assert any("unhandled error" in r.message for r in caplog.records)


def test_validation_errors_list_the_bad_fields(client):
    response = client.post("/api/v1/payments", headers=AUTH,
                           json={"amount": "ten", "meta": {}, "extra": 1})
    body = assert_problem(response, 422, "validation_error")
    assert set(body["errors"]) == {"amount", "meta.note", "extra"}


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/api/v1/payments", headers=AUTH, data="{not json",
                           content_type="application/json")
    assert_problem(response, 400, "invalid_body")


def test_domain_problems_keep_their_code_and_extras(client):
    body = assert_problem(client.get("/api/v1/conflict", headers=AUTH), 409, "account_frozen")
    assert body["account_id"] == "a1"


def test_request_id_is_echoed_or_made(client):
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id; drop table"})
    assert made.headers["X-Request-ID"] not in ("", "bad id; drop table")
    assert len(made.headers["X-Request-ID"]) == 36


def test_logs_are_json_with_the_request_id(capfd):
    app = build_app()
    app.test_client().get("/api/v1/boom", headers={**AUTH, "X-Request-ID": "req-42"})
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line.get("message") == "unhandled error"]
    assert errors and errors[0]["request_id"] == "req-42" and errors[0]["service"] == "demo"


def test_healthz_is_open_and_readyz_reports_each_check():
    app = build_app()
    add_readiness_check(app, "store", lambda: None)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"store": "ok"}

    def down():
        raise ConnectionError("connection refused")
    add_readiness_check(app, "store", down)
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.get_json()["checks"]["store"] == "failed"  # which check, not why
    assert client.get("/healthz").status_code == 200


def test_metrics_count_requests_by_route(client):
    client.get("/api/v1/conflict", headers=AUTH)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{endpoint="/api/v1/conflict",method="GET",service="demo",status="409"} 1.0' in text


def test_a_request_without_an_internal_token_is_401(client):
    assert_problem(client.get("/api/v1/conflict"), 401, "unauthorized")
    assert client.get("/api/v1/conflict", headers=AUTH).status_code == 409


def _token(**claims):
    base = {"iss": "finova-internal", "aud": "demo", "iat": int(time.time()),
            "exp": int(time.time()) + 60, "typ": "internal", "caller": "gateway"}
    return jwt.encode({**base, **claims}, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize("token", [
    _token(aud="accounts"),                                    # for another service
    _token(exp=int(time.time()) - 60),                          # expired
    _token(iss="someone-else"),                                 # wrong issuer
    _token(typ="access"),                                       # a customer's access token
    jwt.encode({"aud": "demo", "iss": "finova-internal", "typ": "internal",
                "exp": int(time.time()) + 60, "iat": int(time.time())},
               "another-secret-that-is-long-enough-too", algorithm="HS256"),  # wrong key
    jwt.encode({"aud": "demo", "iss": "finova-internal", "typ": "internal",
                "exp": int(time.time()) + 60, "iat": int(time.time())}, None, algorithm="none"),
    "not-a-jwt",
])
def test_bad_internal_tokens_are_401(client, token):
    response = client.get("/api/v1/conflict", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "unauthorized")
