"""Login, refresh and logout at the gateway, against the real accounts service over HTTP."""
import hashlib

import pytest
from sqlalchemy import text

from conftest import service_config
from devstack.stack import free_port
from tests.support.servers import serving

from .conftest import bearer, gateway_for

PII_KEYS = "g1:Z2F0ZXdheS10ZXN0LXBpaS1rZXktMDEyMzQ1Njc4OWE="
PASSWORD = "Correct-Horse-42-battery"


@pytest.fixture
def accounts_url(accounts_db):
    from services.accounts.app import create_app
    # A long first wait, so argon2 on a busy machine cannot outlast it mid-test.
    accounts = create_app(service_config(DATABASE_URL=accounts_db.app_url, PII_ENCRYPTION_KEYS=PII_KEYS,
                                         LOGIN_BASE_DELAY_SECONDS=30))
    with serving(accounts) as server:
        yield server.url


@pytest.fixture
def gateway(accounts_url):
    return gateway_for(accounts=accounts_url).test_client()


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


def test_a_lockout_from_one_address_leaves_the_customer_in_from_hers(accounts_url, owner_engines):
    """The gateway passes the client address it trusts (X-Forwarded-For through one proxy
    here) and the accounts service throttles per (email, address)."""
    gateway = gateway_for(accounts=accounts_url, TRUSTED_PROXY_HOPS=1,
                          RATE_LIMIT_LOGIN_PER_EMAIL="100/minute").test_client()
    register_and_login(gateway)

    def attempt(address, password):
        return gateway.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": password},
                            headers={"X-Forwarded-For": address})

    for _ in range(10):
        with owner_engines["accounts"].begin() as connection:
            connection.execute(text("UPDATE login_attempts SET next_attempt_at = now() - interval '1 second'"))
        assert attempt("203.0.113.6", "Wrong-pass-123").status_code == 401
    locked = attempt("203.0.113.6", PASSWORD)
    assert locked.status_code == 429 and locked.get_json()["code"] == "login_locked"
    assert attempt("198.51.100.7", PASSWORD).status_code == 200
    # What the accounts service stored is the address the gateway trusted, hashed.
    with owner_engines["accounts"].connect() as connection:
        keys = connection.execute(text("SELECT client_key FROM login_attempts")).scalars().all()
    assert keys == [hashlib.sha256(b"203.0.113.6").hexdigest()]


def test_the_refresh_token_goes_upstream_raw_and_only_its_hash_is_stored(gateway, owner_engines):
    _, tokens = register_and_login(gateway)
    digest = hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT token_hash FROM refresh_tokens")).scalars().all() == [digest]
    # The stored hash is no token: presented as one, it is refused and revokes nothing.
    stolen = gateway.post("/api/v1/auth/refresh", json={"refresh_token": digest})
    assert stolen.status_code == 422
    assert gateway.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 200


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
