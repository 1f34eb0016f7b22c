"""Login protections: no timing oracle for unknown emails, a throttle keyed on (email, client
address) so nobody can lock a victim out from elsewhere, and a per-email ceiling that slows
strangers but never the customer's own known address."""
from sqlalchemy import text

from services.accounts import passwords

from .conftest import make_accounts_app
from .factories import STRONG_PASSWORD, register
from .test_credentials import login, make_due

WRONG = "Wrong-password-123"


class CountingHasher:
    """argon2's hasher, counting verifications (the expensive step a timing oracle skips)."""

    def __init__(self, real):
        self.real, self.verified = real, []

    def verify(self, password_hash, password):
        self.verified.append(password_hash)
        return self.real.verify(password_hash, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_an_unknown_email_costs_one_argon2_verification_like_a_known_one(client, monkeypatch):
    register(client, email="ada@example.com")
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    assert login(client, "ada@example.com", WRONG).status_code == 401
    assert login(client, "nobody@example.com", WRONG).status_code == 401
    known, unknown = hasher.verified
    assert known.startswith("$argon2id$") and unknown == passwords._DUMMY_HASH
    # Same cost parameters, so the same time: the dummy is hashed by the same hasher.
    assert unknown.split("$")[3] == known.split("$")[3]


def test_failures_from_one_address_never_lock_the_customer_out_elsewhere(client, owner_engines):
    register(client, email="ada@example.com")
    for _ in range(10):  # an attacker locks (ada, 203.0.113.6) ...
        make_due(owner_engines, "next_attempt_at")
        assert login(client, "ada@example.com", WRONG, address="203.0.113.6").status_code == 401
    make_due(owner_engines, "next_attempt_at")
    locked = login(client, "ada@example.com", address="203.0.113.6")
    assert locked.status_code == 429 and locked.get_json()["code"] == "login_locked"
    # ... and only that: Ada, from her own address, signs in with her password at once.
    assert login(client, "ada@example.com", address="198.51.100.7").status_code == 200
    assert login(client, "ada@example.com", address="203.0.113.6").status_code == 429  # still locked there


def test_the_per_email_ceiling_slows_strangers_but_not_a_known_address(accounts_db, ledger, owner_engines):
    client = make_accounts_app(accounts_db, ledger.url, LOGIN_EMAIL_CEILING=4,
                               LOGIN_CEILING_SPACING_SECONDS=60).test_client()
    register(client, email="ada@example.com")
    assert login(client, "ada@example.com", address="198.51.100.7").status_code == 200  # Ada's usual place
    for n in range(4):  # a distributed attack: one failure from each of many addresses
        assert login(client, "ada@example.com", WRONG, address=f"203.0.113.{n}").status_code == 401
    stranger = login(client, "ada@example.com", address="192.0.2.99")
    assert stranger.status_code == 429 and stranger.get_json()["code"] == "login_throttled"
    assert 50 <= int(stranger.headers["Retry-After"]) <= 60
    assert login(client, "ada@example.com", address="198.51.100.7").status_code == 200  # never slowed
    with owner_engines["accounts"].begin() as connection:  # the spacing is over
        connection.execute(text("UPDATE login_email_attempts SET next_attempt_at = now() - interval '1 second'"))
    assert login(client, "ada@example.com", address="192.0.2.99").status_code == 200  # slowed, not locked out


def test_the_ceiling_treats_unknown_emails_alike(accounts_db, ledger):
    client = make_accounts_app(accounts_db, ledger.url, LOGIN_EMAIL_CEILING=2,
                               LOGIN_CEILING_SPACING_SECONDS=60).test_client()
    register(client, email="ada@example.com")
    answers = {}
    for email in ("ada@example.com", "ghost@example.com"):
        for n in range(2):
            login(client, email, WRONG, address=f"203.0.113.{n}")
        answers[email] = login(client, email, STRONG_PASSWORD, address="192.0.2.1")
    assert {r.status_code for r in answers.values()} == {429}
    assert {r.get_json()["code"] for r in answers.values()} == {"login_throttled"}


def test_the_client_address_is_required_and_checked(client):
    register(client, email="ada@example.com")
    for address in (None, "", "10.0.0.1\n", "x" * 101):
        body = {"email": "ada@example.com", "password": STRONG_PASSWORD, "refresh_token": "frt_" + "a" * 43}
        if address is not None:
            body["client_address"] = address
        from tests.support.tokens import auth_header
        response = client.post("/internal/auth/login", headers=auth_header("accounts"), json=body)
        assert response.status_code == 422 and "client_address" in response.get_json()["errors"]
