"""Credential checks, lockout and refresh tokens behind the gateway's internal endpoints."""
import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import text

from gateway.tokens import new_refresh_token
from tests.support.tokens import FreshAuthHeader, auth_header

from .conftest import make_accounts_app
from .factories import STRONG_PASSWORD, register

GATEWAY = FreshAuthHeader("accounts", caller="gateway")


def token() -> str:
    return new_refresh_token()


def sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def login(client, email, password=STRONG_PASSWORD, refresh_token=None, address="10.0.0.1"):
    return client.post("/internal/auth/login", headers=auth_header("accounts"),
                       json={"email": email, "password": password, "refresh_token": refresh_token or token(),
                             "client_address": address})


def refresh(client, old, new):
    return client.post("/internal/auth/refresh", headers=auth_header("accounts"),
                       json={"refresh_token": old, "new_refresh_token": new})


def make_due(owner_engines, column):
    """Time passes: the wait (or lock) on every email is over."""
    with owner_engines["accounts"].begin() as connection:
        connection.execute(text(f"UPDATE login_attempts SET {column} = now() - interval '1 second'"))


def test_login_returns_the_identity_and_stores_only_the_token_hash(client, owner_engines):
    customer = register(client, email="ada@example.com")
    raw = token()
    response = login(client, "ADA@example.com", refresh_token=raw)
    assert response.status_code == 200
    assert response.get_json() == {"customer_id": customer["id"], "roles": ["customer"]}
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT token_hash FROM refresh_tokens")).scalars().all() == [sha256(raw)]


def test_a_stored_hash_opens_nothing(client, owner_engines):
    """Whoever reads the database gets hashes; no endpoint takes one, so they are useless."""
    register(client, email="ada@example.com")
    raw = token()
    login(client, "ada@example.com", refresh_token=raw)
    stolen = sha256(raw)
    as_hash = client.post("/internal/auth/refresh", headers=auth_header("accounts"),
                          json={"refresh_token_hash": stolen, "new_refresh_token_hash": sha256(token())})
    assert as_hash.status_code == 422  # the old hash-taking fields are gone
    as_token = refresh(client, stolen, token())
    assert as_token.status_code == 422 and "refresh_token" in as_token.get_json()["errors"]
    chosen = client.post("/internal/auth/login", headers=auth_header("accounts"), json={
        "email": "ada@example.com", "password": STRONG_PASSWORD, "refresh_token_hash": stolen,
        "client_address": "10.0.0.1"})
    assert chosen.status_code == 422
    assert refresh(client, raw, token()).status_code == 200


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
    with owner_engines["accounts"].connect() as connection:
        wait = connection.execute(text("SELECT next_attempt_at - last_failure_at FROM login_attempts")).scalar_one()
    assert wait.total_seconds() == 1
    # argon2 on a busy machine can outlast a 1 s wait: stretch it so the test does not race it.
    with owner_engines["accounts"].begin() as connection:
        connection.execute(text("UPDATE login_attempts SET next_attempt_at = now() + interval '1 minute'"))
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


def test_unknown_emails_are_throttled_too(client, owner_engines):
    for _ in range(4):
        login(client, "ghost@example.com", "Wrong-password-123")
    with owner_engines["accounts"].begin() as connection:  # see above: do not race argon2
        connection.execute(text("UPDATE login_attempts SET next_attempt_at = greatest(next_attempt_at, "
                                "now() + interval '1 minute') WHERE failures > 3"))
    assert login(client, "ghost@example.com").status_code == 429


def test_only_the_gateway_may_check_credentials(client):
    register(client, email="ada@example.com")
    response = client.post("/internal/auth/login", headers=auth_header("accounts", caller="transactions"),
                           json={"email": "ada@example.com", "password": STRONG_PASSWORD,
                                 "refresh_token": token(), "client_address": "10.0.0.1"})
    assert response.status_code == 403


def test_a_refresh_token_rotates_and_its_reuse_revokes_the_family(client, owner_engines):
    customer = register(client, email="ada@example.com")
    first, second, third = token(), token(), token()
    assert login(client, "ada@example.com", refresh_token=first).status_code == 200
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
    old = token()
    login(client, "ada@example.com", refresh_token=old)
    assert refresh(client, token(), token()).status_code == 401
    with owner_engines["accounts"].begin() as connection:
        connection.execute(text("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'"))
    expired = refresh(client, old, token())
    assert expired.status_code == 401 and "expired" in expired.get_json()["detail"]


def test_a_family_ends_at_its_absolute_lifetime_however_often_it_is_refreshed(client, owner_engines):
    register(client, email="ada@example.com")
    current = token()
    login(client, "ada@example.com", refresh_token=current)
    with owner_engines["accounts"].connect() as connection:
        row = connection.execute(text("SELECT created_at, expires_at, family_expires_at FROM refresh_tokens")).one()
    assert row.family_expires_at - row.created_at == timedelta(days=30)
    assert row.expires_at - row.created_at == timedelta(days=14)
    for _ in range(3):  # sliding: each refresh is in time
        successor = token()
        assert refresh(client, current, successor).status_code == 200
        current = successor
    # 29 days and a half later, the newest token's sliding expiry is capped by the family's end.
    with owner_engines["accounts"].begin() as connection:
        connection.execute(text("UPDATE refresh_tokens SET family_expires_at = now() + interval '12 hours', "
                                "expires_at = now() + interval '12 hours'"))
    successor = token()
    assert refresh(client, current, successor).status_code == 200
    with owner_engines["accounts"].connect() as connection:
        newest = connection.execute(text("SELECT expires_at, family_expires_at FROM refresh_tokens "
                                         "WHERE token_hash = :h"), {"h": sha256(successor)}).one()
    assert newest.expires_at == newest.family_expires_at  # not now + 14 days
    with owner_engines["accounts"].begin() as connection:
        connection.execute(text("UPDATE refresh_tokens SET family_expires_at = now() - interval '1 second', "
                                "expires_at = now() - interval '1 second'"))
    ended = refresh(client, successor, token())
    assert ended.status_code == 401 and "absolute lifetime" in ended.get_json()["detail"]


def test_the_absolute_lifetime_is_a_setting(accounts_db, ledger, owner_engines):
    client = make_accounts_app(accounts_db, ledger.url, REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS=3600).test_client()
    register(client, email="ada@example.com")
    login(client, "ada@example.com")
    with owner_engines["accounts"].connect() as connection:
        row = connection.execute(text("SELECT created_at, expires_at, family_expires_at FROM refresh_tokens")).one()
    assert row.family_expires_at - row.created_at == timedelta(hours=1) == row.expires_at - row.created_at


@pytest.mark.parametrize("bad", ["not-a-token", "frt_" + "a" * 42, "a" * 64, "frt_" + "a" * 42 + "!"])
def test_a_malformed_token_is_422(client, bad):
    response = refresh(client, bad, token())
    assert response.status_code == 422 and "refresh_token" in response.get_json()["errors"]


def test_logout_revokes_the_family_of_the_customers_own_token(client):
    ada = register(client, email="ada@example.com")
    bob = register(client, email="bob@example.com")
    raw = token()
    login(client, "ada@example.com", refresh_token=raw)
    as_bob = client.post("/internal/auth/logout", json={"refresh_token": raw},
                         headers=auth_header("accounts", subject=bob["id"]))
    assert as_bob.status_code == 401  # another customer's token is unknown to Bob
    as_ada = client.post("/internal/auth/logout", json={"refresh_token": raw},
                         headers=auth_header("accounts", subject=ada["id"]))
    assert as_ada.status_code == 204
    assert refresh(client, raw, token()).status_code == 401
