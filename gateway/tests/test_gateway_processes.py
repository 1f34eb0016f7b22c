"""The gateway as a gunicorn process in front of real service processes: a killed service is a
quick 503 and the breaker recovers when it returns; the login limit gives 429.

A stack of its own (not the shared `suite`) because it kills a service and uses tight limits.
"""
import time

import pytest
import requests

from devstack.stack import app_environment, free_port, start_app, start_apps, stop_process, wait_until_healthy
from gateway.tokens import AccessTokens, parse_signing_keys
from tests.support.tokens import TEST_JWT_SIGNING_KEYS

pytestmark = pytest.mark.e2e
PASSWORD = "Correct-Horse-42-battery"
RESET_SECONDS = 1.0


@pytest.fixture(scope="module")
def stack(stores, databases, tmp_path_factory):
    ports = {name: free_port() for name in ("gateway", "accounts", "transactions", "preferences")}
    environments = app_environment(ports, databases, stores.mongo_url, "test_preferences", extra={
        "JWT_SIGNING_KEYS": TEST_JWT_SIGNING_KEYS,
        "WEB_CONCURRENCY": "1",  # the breaker and in-memory limits are per worker
        "OUTBOX_RELAY": "false", "LOG_LEVEL": "WARNING",
        "BREAKER_FAILURE_THRESHOLD": "2", "BREAKER_RESET_SECONDS": str(RESET_SECONDS),
        "RATE_LIMIT_LOGIN_PER_EMAIL": "2/minute"})
    # app_environment gives the gateway the development keys whatever `extra` says.
    environments["gateway"]["JWT_SIGNING_KEYS"] = TEST_JWT_SIGNING_KEYS
    log_dir = tmp_path_factory.mktemp("gateway-stack-logs")
    apps = start_apps(ports, environments, log_dir, names=("accounts", "preferences", "gateway"))
    apps.environments = environments
    yield apps
    apps.stop()


def access_header(customer_id="c0ffee00-0000-4000-8000-0000000000aa"):
    tokens = AccessTokens(tuple(parse_signing_keys(TEST_JWT_SIGNING_KEYS)), "https://api.finovabank.example",
                          "finova-api")
    return {"Authorization": f"Bearer {tokens.issue(customer_id, ['customer'])}"}


def timed_get(url, headers):
    started = time.monotonic()
    response = requests.get(url, headers=headers, timeout=10)
    return response, time.monotonic() - started


def test_a_killed_service_is_a_quick_503_and_the_breaker_recovers(stack):
    url, headers = stack.url("gateway") + "/api/v1/preferences", access_header()
    assert requests.get(url, headers=headers, timeout=10).status_code == 200

    stop_process(stack.processes.pop("preferences"))
    for _ in range(2):  # connection refused (retried twice for a GET), counted by the breaker
        response, elapsed = timed_get(url, headers)
        assert response.status_code == 503 and elapsed < 2
        assert response.json()["code"] == "service_unavailable" and response.json()["service"] == "preferences"
    response, elapsed = timed_get(url, headers)
    assert response.status_code == 503 and elapsed < 0.2  # open: no call at all
    assert "circuit open" in response.json()["detail"] and response.headers["Retry-After"] == "1"
    # Other services are not affected by one open circuit.
    assert requests.get(stack.url("gateway") + "/api/v1/account-types", headers=headers, timeout=10).status_code == 200

    stack.processes["preferences"] = start_app("preferences", stack.ports["preferences"],
                                               stack.environments["preferences"], stack.log_dir)
    wait_until_healthy(stack.url("preferences"), stack.processes["preferences"],
                       stack.log_dir / "preferences.log", 60)
    time.sleep(RESET_SECONDS + 0.2)  # the cool-down: the next request is the probe
    response, _ = timed_get(url, headers)
    assert response.status_code == 200, response.text
    assert requests.get(url, headers=headers, timeout=10).status_code == 200


def test_the_login_limit_gives_429_through_the_gateway(stack):
    gateway = stack.url("gateway")
    email = f"limit-{free_port()}@example.com"
    created = requests.post(gateway + "/api/v1/auth/register", timeout=10,
                            json={"email": email, "password": PASSWORD, "full_name": "Limit Tester"})
    assert created.status_code == 201, created.text
    assert requests.post(gateway + "/api/v1/auth/login", json={"email": email, "password": PASSWORD},
                         timeout=10).status_code == 200
    wrong = requests.post(gateway + "/api/v1/auth/login", json={"email": email, "password": "Wrong-pass-123"},
                          timeout=10)
    assert wrong.status_code == 401
    limited = requests.post(gateway + "/api/v1/auth/login", json={"email": email.upper(), "password": PASSWORD},
                            timeout=10)
    assert limited.status_code == 429 and limited.headers["Content-Type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"  # the gateway's, not the accounts lockout's
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-Request-ID"]
