"""Migration 0011 turns an existing postings table, with its rows, into monthly partitions and back."""
import uuid
from contextlib import contextmanager

import psycopg
import pytest

from database.migrations.runner import downgrade, upgrade
from devstack.databases import ensure_service_database

MONTHS = ("2026-08-15 10:00:00+00", "2026-09-20 10:00:00+00", "2026-10-02 10:00:00+00")


def _post(cursor, amount: int, created_at: str | None) -> uuid.UUID:
    """A deposit from settlement to the customer, with its two chained postings."""
    entry = uuid.uuid4()
    cursor.execute("INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id) "
                   "VALUES (%s, 'deposit', %s, 'EUR', 'settle', 'cust')", (entry, amount))
    for account, signed in (("settle", -amount), ("cust", amount)):
        cursor.execute("UPDATE ledger_accounts SET balance = balance + %s WHERE id = %s RETURNING balance",
                       (0, account))
        balance = cursor.execute("SELECT coalesce((SELECT balance_after FROM postings WHERE account_id = %s "
                                 "ORDER BY created_at DESC, id DESC LIMIT 1), 0)", (account,)).fetchone()[0]
        cursor.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after, created_at) "
                       "VALUES (%s, %s, %s, 'EUR', %s, coalesce(%s::timestamptz, clock_timestamp()))",
                       (entry, account, signed, balance + signed, created_at))
        cursor.execute("UPDATE ledger_accounts SET balance = %s WHERE id = %s", (balance + signed, account))
    return entry


def _snapshot(cursor):
    return cursor.execute("SELECT id, entry_id, account_id, amount, balance_after, created_at "
                          "FROM postings ORDER BY id").fetchall()


@contextmanager
def scratch_ledger(stores, revision: str):
    """A transactions database of its own at `revision`, with a settlement and a customer
    account (ids 'settle' and 'cust'), dropped afterwards."""
    database = ensure_service_database(stores.pg_admin_url, "transactions", prefix=f"part{uuid.uuid4().hex[:6]}_")
    upgrade("transactions", database.owner_url, revision)
    with psycopg.connect(database.owner_url) as connection:
        cursor = connection.cursor()
        cursor.execute("INSERT INTO ledger_accounts (id, kind, currency, may_go_negative) "
                       "VALUES ('settle', 'settlement', 'EUR', true)")
        cursor.execute("INSERT INTO ledger_accounts (id, customer_id, kind, currency) "
                       "VALUES ('cust', 'customer-1', 'customer', 'EUR')")
    try:
        yield database
    finally:
        with psycopg.connect(stores.pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database.database}" WITH (FORCE)')


@pytest.fixture
def at_0010(stores):
    with scratch_ledger(stores, "transactions_0010") as database:
        with psycopg.connect(database.owner_url) as connection:
            for amount, month in zip((1000, 2000, 3000), MONTHS):
                _post(connection.cursor(), amount, month)
        yield database


def _partitions(cursor):
    return dict(cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'postings'::regclass").fetchall())


def test_upgrade_keeps_rows_and_guards_then_downgrade_returns_a_plain_table(at_0010):
    url = at_0010.owner_url
    with psycopg.connect(url) as connection:
        before = _snapshot(connection.cursor())
    upgrade("transactions", url, "transactions_0011")
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.cursor()
        assert cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'postings'").fetchone() == ("p",)
        assert _snapshot(cursor) == before
        partitions = _partitions(cursor)
        assert {"postings_y2026m08", "postings_y2026m09", "postings_y2026m10", "postings_default"} <= set(partitions)
        assert partitions["postings_default"] == "DEFAULT"
        # Existing rows sit in their month's partition, nothing in the default.
        assert cursor.execute("SELECT tableoid::regclass::text, count(*) FROM postings GROUP BY 1 ORDER BY 1"
                              ).fetchall() == [("postings_y2026m08", 2), ("postings_y2026m09", 2),
                                               ("postings_y2026m10", 2)]
        assert cursor.execute("SELECT balance FROM ledger_accounts WHERE id = 'cust'").fetchone() == (6000,)
        assert cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'postings_pkey'"
                              ).fetchone() == ("PRIMARY KEY (id, created_at)",)
        indexes = {row[0] for row in cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'postings'::regclass")}
        assert {"ix_postings_entry", "ix_postings_statement", "ix_postings_statement_category",
                "postings_pkey"} <= indexes
        triggers = {row[0] for row in cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'postings_y2026m09'::regclass AND NOT tgisinternal")}
        assert {"postings_append_only", "postings_balanced", "postings_guard"} <= triggers

        # Append-only, on the parent and on a partition directly.
        for statement in ("UPDATE postings SET amount = amount + 1",
                          "DELETE FROM postings_y2026m08"):
            with pytest.raises(psycopg.errors.RestrictViolation):
                cursor.execute(statement)
        # The chained-balance guard (0005).
        entry = cursor.execute("SELECT entry_id FROM postings LIMIT 1").fetchone()[0]
        with pytest.raises(psycopg.errors.CheckViolation, match="posting_balance_chain|previous balance"):
            cursor.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after) "
                           "VALUES (%s, 'cust', 5, 'EUR', 1)", (entry,))
        # An unbalanced entry is refused at commit (0003/0005).
        with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"):
            with connection.transaction():
                new = uuid.uuid4()
                cursor.execute("INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, "
                               "to_account_id) VALUES (%s, 'deposit', 10, 'EUR', 'settle', 'cust')", (new,))
                cursor.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after) "
                               "VALUES (%s, 'settle', -10, 'EUR', -6010), (%s, 'cust', 9, 'EUR', 6009)",
                               (new, new))
                cursor.execute("UPDATE ledger_accounts SET balance = -6010 WHERE id = 'settle'")
                cursor.execute("UPDATE ledger_accounts SET balance = 6009 WHERE id = 'cust'")
        assert len(_snapshot(cursor)) == 6

        # New postings land in their month; ids keep coming from the same sequence.
        with connection.transaction():
            _post(cursor, 500, None)
        latest = cursor.execute("SELECT id, tableoid::regclass::text, to_char(created_at AT TIME ZONE 'UTC', "
                                "'\"postings_y\"YYYY\"m\"MM') FROM postings ORDER BY id DESC LIMIT 1").fetchone()
        assert latest[0] > before[-1][0]
        assert latest[1] == latest[2]
        with connection.transaction():
            _post(cursor, 100, "2031-01-01 00:00:00+00")  # no partition that far ahead
        assert cursor.execute("SELECT count(*) FROM postings_default").fetchone() == (2,)
        with pytest.raises(psycopg.errors.RestrictViolation):
            cursor.execute("UPDATE postings_default SET amount = 1")
        after_upgrade = _snapshot(cursor)

    downgrade("transactions", url, "transactions_0010")
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.cursor()
        assert cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'postings'").fetchone() == ("r",)
        assert cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'postings\\_%%' "
                              "AND relkind = 'r'").fetchone() == (0,)
        assert _snapshot(cursor) == after_upgrade
        assert cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'postings_pkey'"
                              ).fetchone() == ("PRIMARY KEY (id)",)
        with pytest.raises(psycopg.errors.RestrictViolation):
            cursor.execute("DELETE FROM postings")
        with connection.transaction():
            _post(cursor, 1, None)
    upgrade("transactions", url, "transactions_0011")  # and up again
