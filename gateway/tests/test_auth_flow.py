"""Login, refresh and logout at the gateway, against the real accounts service over HTTP."""
import pytest

from conftest import service_config
from devstack.stack import free_port
from tests.support.servers import serving

from .conftest import bearer, gateway_for

PII_KEYS = "g1:Z2F0ZXdheS10ZXN0LXBpaS1rZXktMDEyMzQ1Njc4OWE="
PASSWORD = "Correct-Horse-42-battery"


@pytest.fixture
def gateway(accounts_db):
    from services.accounts.app import create_app
    accounts = create_app(service_config(DATABASE_URL=accounts_db.app_url, PII_ENCRYPTION_KEYS=PII_KEYS))
    with serving(accounts) as server:
        yield gateway_for(accounts=server.url).test_client()


def register_and_login(gateway, email="ada@example.com"):
    created = gateway.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Ada"})
    assert created.status_code == 201, created.get_json()
    login = gateway.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    return created.get_json(), login.get_json()


def test_login_gives_a_token_pair_that_opens_me(gateway):
    customer, tokens = register_and_login(gateway)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("frt_")
    me = gateway.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.get_json()["id"] == customer["id"]


def test_bad_credentials_are_401_and_repeated_ones_429(gateway):
    register_and_login(gateway)
    for _ in range(4):
        wrong = gateway.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "Wrong-pass-123"})
        assert wrong.status_code == 401 and wrong.get_json()["code"] == "invalid_credentials"
    throttled = gateway.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers


def test_refresh_rotates_and_a_reused_token_revokes_the_family(gateway):
    _, tokens = register_and_login(gateway)
    first = gateway.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200 and first.get_json()["refresh_token"] != tokens["refresh_token"]
    reused = gateway.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401 and reused.get_json()["code"] == "invalid_refresh_token"
    successor = gateway.post("/api/v1/auth/refresh", json={"refresh_token": first.get_json()["refresh_token"]})
    assert successor.status_code == 401


def test_logout_needs_the_access_token_and_revokes_the_family(gateway):
    _, tokens = register_and_login(gateway)
    body = {"refresh_token": tokens["refresh_token"]}
    assert gateway.post("/api/v1/auth/logout", json=body).status_code == 401
    response = gateway.post("/api/v1/auth/logout", json=body,
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 204 and response.data == b""
    assert gateway.post("/api/v1/auth/refresh", json=body).status_code == 401


def test_another_customers_refresh_token_cannot_be_logged_out(gateway):
    _, ada = register_and_login(gateway, "ada@example.com")
    _, bob = register_and_login(gateway, "bob@example.com")
    response = gateway.post("/api/v1/auth/logout", json={"refresh_token": ada["refresh_token"]},
                            headers={"Authorization": f"Bearer {bob['access_token']}"})
    assert response.status_code == 401
    assert gateway.post("/api/v1/auth/refresh", json={"refresh_token": ada["refresh_token"]}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/refresh"])
def test_malformed_and_incomplete_bodies(gateway, path):
    malformed = gateway.post(path, data="{nope", content_type="application/json")
    assert malformed.status_code == 400 and malformed.mimetype == "application/problem+json"
    incomplete = gateway.post(path, json={"email": 42})
    assert incomplete.status_code == 422 and incomplete.get_json()["errors"]


def test_an_oversized_body_is_413_at_the_gateway(gateway):
    response = gateway.post("/api/v1/auth/login", data="x" * 1_100_000, content_type="application/json")
    assert response.status_code == 413
    proxied = gateway.post("/api/v1/accounts", data="x" * 1_100_000, content_type="application/json",
                           headers=bearer())
    assert proxied.status_code == 413


def test_login_while_accounts_is_down_is_503():
    gateway = gateway_for(accounts=f"http://127.0.0.1:{free_port()}").test_client()
    response = gateway.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 503 and response.get_json()["code"] == "service_unavailable"
