"""The accounts seed at small scale: customers, accounts, the manifest, and a working demo login."""
import csv

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.accounts.numbers import is_valid_iban, next_account_number
from services.accounts.pii import FieldCipher, parse_keys
from services.accounts.seed import (DEMO_DOMAIN, DEMO_PASSWORD, MANIFEST_FIELDS, AlreadySeeded,
                                    seed_customers_and_accounts)
from gateway.tokens import new_refresh_token
from tests.support.tokens import auth_header

from .conftest import TEST_PII_KEYS

CUSTOMERS = 50


@pytest.fixture
def cipher():
    return FieldCipher(parse_keys(TEST_PII_KEYS))


@pytest.fixture
def seeded(accounts_db, owner_engines, cipher, tmp_path):
    with Session(owner_engines["accounts"]) as session:
        result = seed_customers_and_accounts(session, cipher, CUSTOMERS, tmp_path / "manifest.csv")
        session.commit()
    return result


def rows(owner_engines, query):
    with owner_engines["accounts"].connect() as connection:
        return connection.execute(text(query)).all()


def login(client, email, password):
    return client.post("/internal/auth/login", headers=auth_header("accounts"),
                       json={"email": email, "password": password, "refresh_token": new_refresh_token(),
                             "client_address": "10.0.0.1"})


def test_seed_writes_the_customers_their_accounts_and_no_events(seeded, owner_engines):
    assert seeded.customers == CUSTOMERS
    assert rows(owner_engines, "SELECT count(*) FROM customers")[0][0] == CUSTOMERS
    assert rows(owner_engines, "SELECT count(*) FROM bank_accounts")[0][0] == seeded.accounts
    assert CUSTOMERS <= seeded.accounts <= 3 * CUSTOMERS
    # Every customer has a checking account; each account is in its customer's currency.
    assert rows(owner_engines, """SELECT count(DISTINCT customer_id) FROM bank_accounts
                                  WHERE type = 'checking'""")[0][0] == CUSTOMERS
    assert rows(owner_engines, "SELECT count(*) FROM outbox_events")[0][0] == 0
    assert rows(owner_engines, "SELECT action, after FROM audit_logs") == [
        ("demo_data.seeded", {"customers": CUSTOMERS, "accounts": seeded.accounts})]
    emails = [email for (email,) in rows(owner_engines, "SELECT email FROM customers ORDER BY email")]
    assert emails[0] == seeded.demo_email and all(e.endswith("@" + DEMO_DOMAIN) for e in emails)


def test_one_password_hash_serves_every_customer(seeded, owner_engines):
    hashes = rows(owner_engines, "SELECT DISTINCT password_hash FROM customers")
    assert len(hashes) == 1 and hashes[0][0].startswith("$argon2id$")


def test_personal_data_is_stored_encrypted(seeded, owner_engines, cipher):
    for phone, national_id in rows(owner_engines, "SELECT phone_encrypted, national_id_encrypted FROM customers"):
        assert phone.startswith("t1:") and national_id.startswith("t1:")
        assert cipher.decrypt(phone).startswith("+447700")
        assert cipher.decrypt(national_id).startswith("QQ")


def test_account_numbers_are_ibans_from_the_service_sequence(seeded, owner_engines):
    numbers = [n for (n,) in rows(owner_engines, "SELECT number FROM bank_accounts")]
    assert len(set(numbers)) == len(numbers) == seeded.accounts
    assert all(is_valid_iban(n) and n.startswith("GB") and "FNVA040004" in n for n in numbers)
    with Session(owner_engines["accounts"]) as session:
        following = next_account_number(session)  # an account opened later cannot collide
    assert following not in numbers
    assert int(following[-8:]) == max(int(n[-8:]) for n in numbers) + 1


def test_the_manifest_lists_every_account_as_account_opened_would(seeded, owner_engines):
    with open(seeded.manifest, newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == MANIFEST_FIELDS
        manifest = {row["account_id"]: row for row in reader}
    stored = rows(owner_engines, "SELECT id::text, customer_id::text, currency, type, overdraft_limit, status, "
                                 "number FROM bank_accounts")
    assert len(manifest) == len(stored) == seeded.accounts
    for account_id, customer_id, currency, type_, overdraft, status, number in stored:
        row = manifest[account_id]
        assert row["number"] == number
        assert (row["customer_id"], row["currency"], row["type"], row["status"]) == (customer_id, currency,
                                                                                   type_, status)
        assert row["overdraft_limit"] == ("1000.00" if type_ == "credit_card" else "0.00") == f"{overdraft:.2f}"
        # The versions and KYC state the ledger must start from.
        assert (row["version"], row["kyc_status"], row["customer_version"]) == ("1", "verified", "1")


def test_every_demo_customer_is_verified_so_the_demo_can_pay_others(seeded, owner_engines):
    assert rows(owner_engines, "SELECT DISTINCT kyc_status, version FROM customers") == [("verified", 1)]
    assert rows(owner_engines, "SELECT DISTINCT version FROM bank_accounts") == [(1,)]


def test_a_seeded_customer_logs_in_through_the_internal_login(seeded, client, owner_engines):
    customer_id = rows(owner_engines, f"SELECT id::text FROM customers WHERE email = '{seeded.demo_email}'")[0][0]
    response = login(client, seeded.demo_email, DEMO_PASSWORD)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"customer_id": customer_id, "roles": ["customer"]}
    last = f"customer{CUSTOMERS:05d}@{DEMO_DOMAIN}"
    assert login(client, last, DEMO_PASSWORD).status_code == 200
    assert login(client, last, "Wrong-password-123").status_code == 401


def test_seeding_twice_is_refused_and_adds_nothing(seeded, owner_engines, cipher, tmp_path):
    with Session(owner_engines["accounts"]) as session, pytest.raises(AlreadySeeded):
        seed_customers_and_accounts(session, cipher, 5, tmp_path / "again.csv")
    assert rows(owner_engines, "SELECT count(*) FROM customers")[0][0] == CUSTOMERS
    assert not (tmp_path / "again.csv").exists()
