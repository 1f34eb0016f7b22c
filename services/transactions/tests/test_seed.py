"""The ledger seed at small scale: a balanced history, the database's guards intact afterwards."""
import csv
import random
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from devstack import seed as make_seed
from services.transactions.domain.ledger.integrity import check_ledger
from services.transactions.seed import (MANIFEST_FIELDS, LedgerCheckFailed, SeedRefused, _Book, read_manifest,
                                        seed_ledger)

from .factories import transfer

TRANSACTIONS = 2_000
OPENED = datetime(2024, 3, 1, tzinfo=timezone.utc)


@pytest.fixture
def manifest(tmp_path):
    """80 accounts of 50 customers, as the accounts seed lists them: EUR and GBP, some credit cards."""
    rng = random.Random(1)
    path = tmp_path / "manifest.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_FIELDS)
        for number in range(80):
            customer = f"{uuid.UUID(int=number // 2 + 1)}"  # 40 customers with two accounts...
            if number >= 70:
                customer = f"{uuid.UUID(int=number)}"        # ...and 10 with one
            credit = number % 7 == 0
            writer.writerow((uuid.UUID(int=rng.getrandbits(128)), customer, "GBP" if number % 5 == 0 else "EUR",
                             "credit_card" if credit else "checking", "1000.00" if credit else "0.00", "active",
                             (OPENED + timedelta(hours=number)).isoformat()))
    return path


@pytest.fixture
def ledger_engine(transactions_db, owner_engines):
    return owner_engines["transactions"]


def seed(engine, manifest, transactions=TRANSACTIONS):
    with Session(engine) as session:
        result = seed_ledger(session, read_manifest(manifest), transactions)
        session.commit()
    return result


def scalar(engine, query):
    with engine.connect() as connection:
        return connection.execute(text(query)).scalar_one()


def test_seed_writes_a_history_that_passes_the_integrity_check(ledger_engine, manifest):
    result = seed(ledger_engine, manifest)
    assert (result.accounts, result.entries) == (80, TRANSACTIONS)
    assert result.deposits + result.transfers == TRANSACTIONS and result.transfers > TRANSACTIONS // 2
    assert scalar(ledger_engine, "SELECT count(*) FROM ledger_accounts WHERE kind = 'customer'") == 80
    assert scalar(ledger_engine, "SELECT count(*) FROM ledger_accounts WHERE kind = 'settlement'") == 2
    assert scalar(ledger_engine, "SELECT count(*) FROM journal_entries") == TRANSACTIONS
    assert scalar(ledger_engine, "SELECT count(*) FROM postings") == 2 * TRANSACTIONS
    with Session(ledger_engine) as session:
        assert check_ledger(session) == []
    # Each account's balance is the sum of its postings, and its latest running balance.
    assert scalar(ledger_engine, """
        SELECT count(*) FROM ledger_accounts a
        LEFT JOIN (SELECT account_id, sum(amount) AS total, count(*) AS lines FROM postings GROUP BY account_id) s
               ON s.account_id = a.id
        WHERE a.balance <> coalesce(s.total, 0)""") == 0
    # Versions and KYC: a manifest without those columns reads as version 1, verified.
    assert scalar(ledger_engine, "SELECT count(*) FROM ledger_accounts WHERE kind = 'customer' AND version <> 1") == 0
    assert scalar(ledger_engine, "SELECT count(*) FROM ledger_customers WHERE kyc_status = 'verified'") == 45
    assert scalar(ledger_engine, """
        SELECT count(*) FROM (SELECT entry_id FROM postings GROUP BY entry_id HAVING sum(amount) <> 0) x""") == 0
    # No customer's running balance ever went past its overdraft; the credit cards may go below zero.
    assert scalar(ledger_engine, """
        SELECT count(*) FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
        WHERE a.kind = 'customer' AND p.balance_after < -a.overdraft_limit""") == 0
    assert scalar(ledger_engine, "SELECT min(created_at) FROM journal_entries") > OPENED + timedelta(hours=79)
    assert scalar(ledger_engine, "SELECT max(created_at) FROM journal_entries") < datetime.now(timezone.utc)


def catalogue(engine):
    with engine.connect() as connection:
        return connection.execute(text("""
            SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
             WHERE conrelid IN ('journal_entries'::regclass, 'postings'::regclass)
            UNION ALL SELECT pg_get_indexdef(indexrelid) FROM pg_index
             WHERE indrelid IN ('journal_entries'::regclass, 'postings'::regclass)
            UNION ALL SELECT tgname || ' ' || tgenabled::text FROM pg_trigger
             WHERE tgrelid IN ('journal_entries'::regclass, 'postings'::regclass) AND NOT tgisinternal
            ORDER BY 1""")).scalars().all()


def test_the_ledgers_guards_are_back_after_the_seed(ledger_engine, manifest, transactions_db):
    before = catalogue(ledger_engine)
    seed(ledger_engine, manifest)
    assert catalogue(ledger_engine) == before
    entry_id = scalar(ledger_engine, "SELECT id::text FROM journal_entries LIMIT 1")
    account = scalar(ledger_engine, "SELECT id FROM ledger_accounts WHERE kind = 'customer' LIMIT 1")
    with psycopg.connect(transactions_db.app_url) as app:  # append-only for the service's role
        with pytest.raises(psycopg.errors.RestrictViolation):
            app.execute("UPDATE postings SET amount = 1 WHERE entry_id = %s", (entry_id,))
    with psycopg.connect(transactions_db.app_url) as app:  # the deferred balance check fires again
        app.execute("INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id) "
                    "SELECT %s, 'transfer', 5, currency, id, 'internal:settlement:' || currency "
                    "FROM ledger_accounts WHERE id = %s", (uuid.uuid4(), account))
        with pytest.raises(psycopg.errors.CheckViolation):
            app.commit()


def test_a_seeded_customer_can_transfer_after_the_seed(ledger_engine, manifest, client):
    seed(ledger_engine, manifest)
    with ledger_engine.connect() as connection:
        source, customer, target = connection.execute(text("""
            SELECT a.id, a.customer_id, b.id FROM ledger_accounts a
            JOIN ledger_accounts b ON b.currency = a.currency AND b.kind = 'customer' AND b.id <> a.id
            WHERE a.kind = 'customer' AND a.balance > 100 LIMIT 1""")).one()
        currency = connection.execute(text("SELECT currency FROM ledger_accounts WHERE id = :id"),
                                      {"id": source}).scalar_one()
    response = transfer(client, customer, source, target, "1.00", currency=currency)
    assert response.status_code == 201, response.get_json()
    with Session(ledger_engine) as session:
        assert check_ledger(session) == []
    # Its newest statement line is the new transfer, after the whole seeded history.
    latest = scalar(ledger_engine, f"""SELECT entry_id::text FROM postings WHERE account_id = '{source}'
                                       ORDER BY created_at DESC, id DESC LIMIT 1""")
    assert latest == response.get_json()["id"]


def test_a_ledger_with_entries_is_refused(ledger_engine, manifest):
    seed(ledger_engine, manifest, transactions=100)
    with pytest.raises(SeedRefused):
        seed(ledger_engine, manifest)
    assert scalar(ledger_engine, "SELECT count(*) FROM journal_entries") == 100


def test_a_seed_that_fails_the_check_commits_nothing(ledger_engine, manifest, monkeypatch):
    before = catalogue(ledger_engine)
    write_accounts = _Book.write_accounts

    def one_cent_off(book, cursor):
        book.balance[0] += 1
        write_accounts(book, cursor)

    monkeypatch.setattr(_Book, "write_accounts", one_cent_off)
    with pytest.raises(LedgerCheckFailed) as failure:
        seed(ledger_engine, manifest)
    assert {v.check for v in failure.value.violations} == {"balance_differs_from_postings", "running_balance_differs",
                                                           "currency_does_not_sum_to_zero"}
    for table in ("ledger_accounts", "journal_entries", "postings"):
        assert scalar(ledger_engine, f"SELECT count(*) FROM {table}") == 0
    assert catalogue(ledger_engine) == before


def test_make_seed_runs_both_seeds_end_to_end(accounts_db, transactions_db, owner_engines, tmp_path, capsys):
    code = make_seed.main(["--customers", "50", "--transactions", str(TRANSACTIONS),
                           "--accounts-url", accounts_db.owner_url, "--transactions-url", transactions_db.owner_url,
                           "--manifest", str(tmp_path / "manifest.csv")])
    assert code == 0
    bank_accounts = scalar(owner_engines["accounts"], "SELECT count(*) FROM bank_accounts")
    assert scalar(owner_engines["accounts"], "SELECT count(*) FROM customers") == 50
    assert scalar(owner_engines["transactions"], "SELECT count(*) FROM ledger_accounts WHERE kind = 'customer'") \
        == bank_accounts
    assert scalar(owner_engines["transactions"], "SELECT count(*) FROM journal_entries") == TRANSACTIONS
    # Each ledger account knows its number and type, so an IBAN of this bank pays it.
    assert scalar(owner_engines["accounts"], "SELECT string_agg(number || type, ',' ORDER BY id) FROM bank_accounts") \
        == scalar(owner_engines["transactions"], "SELECT string_agg(iban || account_type, ',' ORDER BY id) "
                                                 "FROM ledger_accounts WHERE kind = 'customer'")
    with Session(owner_engines["transactions"]) as session:
        assert check_ledger(session) == []
    printed = capsys.readouterr().out
    assert "ledger integrity check: passed" in printed and "demo login: customer00001@" in printed
    assert make_seed.main(["--customers", "50", "--accounts-url", accounts_db.owner_url,
                           "--transactions-url", transactions_db.owner_url,
                           "--manifest", str(tmp_path / "again.csv")]) == 1


def test_a_manifest_with_versions_and_kyc_seeds_them(ledger_engine, manifest, tmp_path):
    """The accounts seed's newer manifest: the account's version and its owner's KYC state."""
    with open(manifest, newline="") as handle:
        rows = list(csv.reader(handle))
    richer = tmp_path / "manifest-v2.csv"
    with open(richer, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0] + ["version", "kyc_status", "customer_version"])
        for number, row in enumerate(rows[1:]):
            writer.writerow(row + [7, "pending" if number < 10 else "verified", 2])
    seed(ledger_engine, richer, transactions=200)
    assert scalar(ledger_engine, "SELECT count(*) FROM ledger_accounts WHERE kind = 'customer' AND version = 7") == 80
    # Accounts 0-9 belong to 5 customers (two accounts each).
    assert scalar(ledger_engine, "SELECT count(*) FROM ledger_customers WHERE kyc_status = 'pending'") == 5
    assert scalar(ledger_engine, "SELECT min(version) FROM ledger_customers") == 2


def test_a_manifest_with_unknown_columns_is_refused(manifest, tmp_path):
    with open(manifest, newline="") as handle:
        rows = list(csv.reader(handle))
    odd = tmp_path / "odd.csv"
    with open(odd, "w", newline="") as handle:
        csv.writer(handle).writerows([rows[0] + ["nickname"]] + [row + ["x"] for row in rows[1:]])
    with pytest.raises(ValueError):
        read_manifest(odd)


def test_the_history_lands_in_its_months_partitions_with_their_indexes(ledger_engine, manifest):
    seed(ledger_engine, manifest)
    with ledger_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM postings_default")).scalar_one() == 0
        months = connection.execute(text(
            "SELECT count(DISTINCT tableoid) FROM postings")).scalar_one()
        assert months > 12  # two years and more of history, a partition a month
        # Every partition has the statement index, and the parent's is valid: a partition
        # without it reads a busy account's latest posting by scanning the month.
        missing = connection.execute(text("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'postings'::regclass AND NOT EXISTS (
                   SELECT 1 FROM pg_index x JOIN pg_class ix ON ix.oid = x.indexrelid
                    WHERE x.indrelid = c.oid AND pg_get_indexdef(x.indexrelid) LIKE '%(account_id, created_at DESC, id DESC)')
        """)).scalars().all()
        assert missing == []
        assert connection.execute(text("SELECT bool_and(indisvalid) FROM pg_index "
                                        "WHERE indrelid = 'postings'::regclass")).scalar_one() is True
        plan = "\n".join(connection.execute(text(
            "EXPLAIN SELECT * FROM postings WHERE account_id = 'x' ORDER BY created_at DESC, id DESC LIMIT 1"
        )).scalars())
        assert "Seq Scan" not in plan, plan
