"""Credential checks, lockout and refresh tokens behind the gateway's internal endpoints."""
import hashlib
import secrets

from sqlalchemy import text

from tests.support.tokens import auth_header

from .conftest import make_accounts_app
from .factories import STRONG_PASSWORD, register

GATEWAY = auth_header("accounts", caller="gateway")


def token_hash() -> str:
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def login(client, email, password=STRONG_PASSWORD, refresh_hash=None):
    return client.post("/internal/auth/login", headers=auth_header("accounts"),
                       json={"email": email, "password": password, "refresh_token_hash": refresh_hash or token_hash()})


def refresh(client, old, new):
    return client.post("/internal/auth/refresh", headers=auth_header("accounts"),
                       json={"refresh_token_hash": old, "new_refresh_token_hash": new})


def make_due(owner_engines, column):
    """Time passes: the wait (or lock) on every email is over."""
    with owner_engines["accounts"].begin() as connection:
        connection.execute(text(f"UPDATE login_attempts SET {column} = now() - interval '1 second'"))


def test_login_returns_the_identity_and_stores_only_the_token_hash(client, owner_engines):
    customer = register(client, email="ada@example.com")
    stored = token_hash()
    response = login(client, "ADA@example.com", refresh_hash=stored)
    assert response.status_code == 200
    assert response.get_json() == {"customer_id": customer["id"], "roles": ["customer"]}
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT token_hash FROM refresh_tokens")).scalars().all() == [stored]


def test_wrong_password_and_unknown_email_are_the_same_401(client):
    register(client, email="ada@example.com")
    wrong = login(client, "ada@example.com", "Wrong-password-123")
    unknown = login(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["code"] == unknown.get_json()["code"] == "invalid_credentials"


def test_failures_slow_down_then_lock_and_survive_a_restart(client, accounts_db, ledger, owner_engines):
    register(client, email="ada@example.com")
    for _ in range(3):  # the free attempts
        assert login(client, "ada@example.com", "Wrong-password-123").status_code == 401
    assert login(client, "ada@example.com", "Wrong-password-123").status_code == 401  # 4th: now a wait
    throttled = login(client, "ada@example.com")  # even the right password must wait
    assert throttled.status_code == 429 and throttled.get_json()["code"] == "login_throttled"
    assert int(throttled.headers["Retry-After"]) >= 1

    restarted = make_accounts_app(accounts_db, ledger.url).test_client()  # the count is in the database
    assert login(restarted, "ada@example.com").status_code == 429
    for _ in range(6):  # failures 5..10
        make_due(owner_engines, "next_attempt_at")
        assert login(restarted, "ada@example.com", "Wrong-password-123").status_code == 401
    make_due(owner_engines, "next_attempt_at")
    locked = login(restarted, "ada@example.com")
    assert locked.status_code == 429 and locked.get_json()["code"] == "login_locked"
    assert int(locked.headers["Retry-After"]) > 800

    make_due(owner_engines, "locked_until")
    assert login(restarted, "ada@example.com").status_code == 200
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM login_attempts")).scalar_one() == 0


def test_unknown_emails_are_throttled_too(client):
    for _ in range(4):
        login(client, "ghost@example.com", "Wrong-password-123")
    assert login(client, "ghost@example.com").status_code == 429


def test_only_the_gateway_may_check_credentials(client):
    register(client, email="ada@example.com")
    response = client.post("/internal/auth/login", headers=auth_header("accounts", caller="transactions"),
                           json={"email": "ada@example.com", "password": STRONG_PASSWORD,
                                 "refresh_token_hash": token_hash()})
    assert response.status_code == 403


def test_a_refresh_token_rotates_and_its_reuse_revokes_the_family(client, owner_engines):
    customer = register(client, email="ada@example.com")
    first, second, third = token_hash(), token_hash(), token_hash()
    assert login(client, "ada@example.com", refresh_hash=first).status_code == 200
    rotated = refresh(client, first, second)
    assert rotated.status_code == 200 and rotated.get_json()["customer_id"] == customer["id"]

    reused = refresh(client, first, third)
    assert reused.status_code == 401 and reused.get_json()["code"] == "invalid_refresh_token"
    assert "revoked" in reused.get_json()["detail"]
    assert refresh(client, second, third).status_code == 401  # the live successor died with it
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL")).scalar_one() == 0


def test_unknown_and_expired_refresh_tokens_are_401(client, owner_engines):
    register(client, email="ada@example.com")
    old = token_hash()
    login(client, "ada@example.com", refresh_hash=old)
    assert refresh(client, token_hash(), token_hash()).status_code == 401
    with owner_engines["accounts"].begin() as connection:
        connection.execute(text("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'"))
    expired = refresh(client, old, token_hash())
    assert expired.status_code == 401 and "expired" in expired.get_json()["detail"]


def test_a_malformed_hash_is_422(client):
    response = refresh(client, "not-a-hash", token_hash())
    assert response.status_code == 422 and "refresh_token_hash" in response.get_json()["errors"]


def test_logout_revokes_the_family_of_the_customers_own_token(client):
    ada = register(client, email="ada@example.com")
    bob = register(client, email="bob@example.com")
    token = token_hash()
    login(client, "ada@example.com", refresh_hash=token)
    as_bob = client.post("/internal/auth/logout", json={"refresh_token_hash": token},
                         headers=auth_header("accounts", subject=bob["id"]))
    assert as_bob.status_code == 401  # another customer's token is unknown to Bob
    as_ada = client.post("/internal/auth/logout", json={"refresh_token_hash": token},
                         headers=auth_header("accounts", subject=ada["id"]))
    assert as_ada.status_code == 204
    assert refresh(client, token, token_hash()).status_code == 401
