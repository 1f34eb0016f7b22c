"""The four apps as real gunicorn processes on real stores, called the way clients call them."""
import json
import os
import subprocess
import sys

import pytest
import requests

from devstack.stack import ROOT, free_port
from tests.support.clients import sign_up

pytestmark = pytest.mark.e2e
SERVICES = ("accounts", "transactions", "preferences")


@pytest.fixture(scope="module")
def customer(suite):
    """A customer registered and logged in through the gateway, as a client would."""
    return sign_up(suite.url("gateway"), "e2e")


@pytest.mark.parametrize("name", ("gateway",) + SERVICES)
def test_every_app_is_ready(suite, name):
    response = requests.get(suite.url(name) + "/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert all(state == "ok" for state in response.json()["checks"].values())


@pytest.mark.parametrize("path,owner,check", [
    ("/api/v1/account-types", "accounts", lambda body: body[0]["type"] == "checking"),
    ("/api/v1/currencies", "transactions", lambda body: {"code": "JPY", "name": "Yen", "minor_units": 0} in body),
    ("/api/v1/preferences/defaults", "preferences", lambda body: body["timezone"] == "UTC"),
])
def test_the_gateway_reaches_each_service(suite, customer, path, owner, check):
    response = requests.get(suite.url("gateway") + path, timeout=10,
                            headers={"X-Request-ID": f"e2e-{owner}", **customer["headers"]})
    assert response.status_code == 200, response.text
    assert check(response.json())
    assert response.headers["X-Request-ID"] == f"e2e-{owner}"


def test_a_route_without_an_access_token_is_401_at_the_gateway(suite):
    response = requests.get(suite.url("gateway") + "/api/v1/currencies", timeout=10)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_the_logged_in_customer_is_who_me_says(suite, customer):
    response = requests.get(suite.url("gateway") + "/api/v1/me", headers=customer["headers"], timeout=10)
    assert response.status_code == 200 and response.json()["id"] == customer["id"]


def test_the_request_id_reaches_the_owning_services_log(suite, customer):
    requests.get(suite.url("gateway") + "/api/v1/currencies", timeout=10,
                 headers={"X-Request-ID": "trace-me-1", **customer["headers"]})
    log_lines = (suite.log_dir / "transactions.log").read_text().splitlines()
    seen = [json.loads(line) for line in log_lines if line.startswith("{") and "trace-me-1" in line]
    assert seen and seen[0]["service"] == "transactions" and seen[0]["path"] == "/api/v1/currencies"


@pytest.mark.parametrize("name", SERVICES)
def test_a_direct_call_without_a_token_is_401(suite, name):
    path = {"accounts": "/api/v1/account-types", "transactions": "/api/v1/currencies",
            "preferences": "/api/v1/preferences/defaults"}[name]
    response = requests.get(suite.url(name) + path, timeout=10)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"


def test_a_client_cannot_reach_internal_endpoints_through_the_gateway(suite):
    response = requests.post(suite.url("gateway") + "/internal/events", json={}, timeout=10)
    assert response.status_code == 404


def test_metrics_are_served_by_every_app(suite):
    for name in ("gateway",) + SERVICES:
        text = requests.get(suite.url(name) + "/metrics", timeout=10).text
        assert "http_requests_total" in text


def test_a_missing_setting_stops_the_app_naming_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "INTERNAL_TOKEN_SECRET")}
    env.update(PYTHONPATH=str(ROOT), PORT=str(free_port()), INTERNAL_TOKEN_SECRET="x" * 40)
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "services/accounts/gunicorn.conf.py",
         "services.accounts.app:create_app()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr


def test_the_admin_that_make_up_creates_can_use_admin_routes(suite, suite_databases, monkeypatch):
    from devstack.stack import ensure_admin
    monkeypatch.setenv("FINOVA_ADMIN_EMAIL", "ops-e2e@finovabank.local")
    monkeypatch.setenv("FINOVA_ADMIN_PASSWORD", "Night-Shift-Operator-77")
    email, password = ensure_admin(suite_databases, log=lambda _m: None)
    gateway = suite.url("gateway")
    login = requests.post(gateway + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=10)
    assert login.status_code == 200, login.text
    audit = requests.get(gateway + "/api/v1/admin/audit-logs", timeout=10,
                         headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert audit.status_code == 200 and "items" in audit.json()
