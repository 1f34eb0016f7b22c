"""The database's own guards on the ledger, tested with real commits (deferred checks fire there)."""
import uuid

import psycopg
import pytest

ACCOUNTS = [("g-a", "cust-a", "EUR"), ("g-b", "cust-b", "EUR"), ("g-usd", "cust-c", "USD")]


@pytest.fixture
def conn(transactions_db):
    """A connection as the app role, which is what the service runs as."""
    with psycopg.connect(transactions_db.app_url) as connection:
        for account_id, customer, currency in ACCOUNTS:
            connection.execute("INSERT INTO ledger_accounts (id, customer_id, kind, currency) "
                               "VALUES (%s, %s, 'customer', %s)", (account_id, customer, currency))
        connection.commit()
        yield connection


def entry(conn, legs, currency="EUR", amount=100):
    entry_id = uuid.uuid4()
    conn.execute("INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id) "
                 "VALUES (%s, 'transfer', %s, %s, 'g-a', 'g-b')", (entry_id, amount, currency))
    for account_id, leg_amount, leg_currency in legs:
        conn.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after) "
                     "VALUES (%s, %s, %s, %s, 0)", (entry_id, account_id, leg_amount, leg_currency))
    return entry_id


def test_a_balanced_entry_commits(conn):
    entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.commit()
    assert conn.execute("SELECT count(*) FROM postings").fetchone()[0] == 2


@pytest.mark.parametrize("legs,constraint", [
    ([("g-a", -100, "EUR"), ("g-b", 99, "EUR")], "entry_balanced"),
    ([("g-a", -100, "EUR")], "entry_has_postings"),
    ([], "entry_has_postings"),
    ([("g-a", -100, "USD"), ("g-b", 100, "USD")], "posting_in_account_currency"),
])
def test_the_database_refuses_a_broken_entry_at_commit(conn, legs, constraint):
    entry(conn, legs)
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.commit()
    assert caught.value.diag.constraint_name == constraint
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM journal_entries").fetchone()[0] == 0


def test_a_posting_added_later_to_a_committed_entry_is_refused(conn):
    old = entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.commit()
    conn.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after) "
                 "VALUES (%s, 'g-b', 5, 'EUR', 0)", (old,))
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.commit()
    assert caught.value.diag.constraint_name == "entry_balanced"
    conn.rollback()


def test_an_unbalanced_entry_written_inside_a_savepoint_is_refused(conn):
    with conn.transaction():  # outer transaction; the entry goes in through a savepoint
        with pytest.raises(psycopg.errors.CheckViolation):
            with conn.transaction():
                entry(conn, [("g-a", -100, "EUR"), ("g-b", 90, "EUR")])
                conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert conn.execute("SELECT count(*) FROM journal_entries").fetchone()[0] == 0


@pytest.mark.parametrize("statement", [
    "UPDATE postings SET amount = amount * 2",
    "DELETE FROM postings",
    "UPDATE journal_entries SET description = 'rewritten'",
    "DELETE FROM journal_entries",
])
def test_entries_and_postings_are_never_changed(conn, statement):
    entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.commit()
    with pytest.raises(psycopg.errors.RestrictViolation):
        conn.execute(statement)
    conn.rollback()


def test_a_balance_cannot_go_below_its_overdraft(conn):
    conn.execute("UPDATE ledger_accounts SET overdraft_limit = 500 WHERE id = 'g-a'")
    conn.execute("UPDATE ledger_accounts SET balance = -500 WHERE id = 'g-a'")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE ledger_accounts SET balance = -501 WHERE id = 'g-a'")
    conn.rollback()


def test_an_entry_is_reversed_at_most_once(conn):
    original = entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.commit()
    for attempt in range(2):
        reversal = uuid.uuid4()
        insert = ("INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id, "
                  "reverses_entry_id) VALUES (%s, 'reversal', 100, 'EUR', 'g-b', 'g-a', %s)")
        if attempt == 0:
            conn.execute(insert, (reversal, original))
            conn.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after) "
                         "VALUES (%s, 'g-b', -100, 'EUR', 0), (%s, 'g-a', 100, 'EUR', 0)", (reversal, reversal))
            conn.commit()
        else:
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute(insert, (reversal, original))
            conn.rollback()
