"""The database's own guards on the ledger, tested as the app role with real commits
(deferred checks fire there): migrations 0002, 0003 and 0005."""
import uuid

import psycopg
import pytest

# g-a is the bank's settlement account (it may go negative); the others are customers'.
ACCOUNTS = [("g-a", None, "settlement", "EUR"), ("g-b", "cust-b", "customer", "EUR"),
            ("g-usd", "cust-c", "customer", "USD")]


@pytest.fixture
def conn(transactions_db):
    """A connection as the app role, which is what the service runs as."""
    with psycopg.connect(transactions_db.app_url) as connection:
        for account_id, customer, kind, currency in ACCOUNTS:
            connection.execute("INSERT INTO ledger_accounts (id, customer_id, kind, currency, may_go_negative) "
                               "VALUES (%s, %s, %s, %s, %s)", (account_id, customer, kind, currency,
                                                               kind != "customer"))
        connection.commit()
        yield connection


def balance_of(conn, account_id):
    return conn.execute("SELECT balance FROM ledger_accounts WHERE id = %s", (account_id,)).fetchone()[0]


def entry(conn, legs, currency="EUR", amount=100, store_balances=True, entry_id=None):
    """An entry as the app writes one: the entry, postings with running balances, the new
    balances (unless store_balances is False)."""
    entry_id = entry_id or uuid.uuid4()
    conn.execute("INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id) "
                 "VALUES (%s, 'transfer', %s, %s, 'g-a', 'g-b')", (entry_id, amount, currency))
    post(conn, entry_id, legs, store_balances)
    return entry_id


def post(conn, entry_id, legs, store_balances=True):
    running = {}
    for account_id, leg_amount, leg_currency in legs:
        running[account_id] = running.get(account_id, balance_of(conn, account_id)) + leg_amount
        conn.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after) "
                     "VALUES (%s, %s, %s, %s, %s)", (entry_id, account_id, leg_amount, leg_currency,
                                                     running[account_id]))
    if store_balances:
        for account_id, new_balance in running.items():
            conn.execute("UPDATE ledger_accounts SET balance = %s WHERE id = %s", (new_balance, account_id))


def test_a_balanced_entry_commits(conn):
    entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.commit()
    assert conn.execute("SELECT count(*) FROM postings").fetchone()[0] == 2
    assert (balance_of(conn, "g-a"), balance_of(conn, "g-b")) == (-100, 100)


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
    post(conn, old, [("g-b", 5, "EUR")])
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


def test_set_constraints_all_immediate_cannot_skip_the_entry_check(conn):
    """The bypass of 0003: check the entry early, then unbalance it with a third posting."""
    entry_id = uuid.uuid4()
    conn.execute("INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id) "
                 "VALUES (%s, 'transfer', 100, 'EUR', 'g-a', 'g-b')", (entry_id,))
    post(conn, entry_id, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the entry's checks run now, and pass
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        post(conn, entry_id, [("g-b", 1000, "EUR")])
    assert caught.value.diag.constraint_name == "entry_balanced"
    conn.rollback()
    # And deferred again, the same third posting fails at commit.
    entry_id = entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    conn.execute("SET CONSTRAINTS ALL DEFERRED")
    post(conn, entry_id, [("g-b", 1000, "EUR")])
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.commit()
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM postings").fetchone()[0] == 0


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_accounts SET balance = balance + 1000 WHERE id = 'g-b'",
    "UPDATE ledger_accounts SET balance = balance + 1000",
    "UPDATE ledger_accounts SET balance = 0 WHERE id = 'g-b'",
])
def test_a_stray_balance_update_by_the_app_role_fails(conn, statement):
    entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.commit()
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute(statement)
    assert caught.value.diag.constraint_name == "balance_moves_with_postings"
    conn.rollback()
    assert balance_of(conn, "g-b") == 100


def test_a_balance_moves_only_by_the_sum_of_new_postings(conn):
    entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.commit()
    # A posting whose running balance does not follow from the previous one.
    entry_id = uuid.uuid4()
    conn.execute("INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id) "
                 "VALUES (%s, 'transfer', 100, 'EUR', 'g-a', 'g-b')", (entry_id,))
    conn.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after) "
                 "VALUES (%s, 'g-a', -100, 'EUR', -200)", (entry_id,))
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute("INSERT INTO postings (entry_id, account_id, amount, currency, balance_after) "
                     "VALUES (%s, 'g-b', 100, 'EUR', 1100)", (entry_id,))
    assert caught.value.diag.constraint_name == "posting_balance_chain"
    conn.rollback()


def test_postings_without_the_balance_update_cannot_commit(conn):
    entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")], store_balances=False)
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.commit()
    assert caught.value.diag.constraint_name == "balance_moves_with_postings"
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM postings").fetchone()[0] == 0


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
    conn.execute("UPDATE ledger_accounts SET overdraft_limit = 500 WHERE id = 'g-b'")
    entry(conn, [("g-b", -500, "EUR"), ("g-a", 500, "EUR")], amount=500)
    conn.commit()
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        entry(conn, [("g-b", -1, "EUR"), ("g-a", 1, "EUR")], amount=1)
    assert caught.value.diag.constraint_name == "balance_within_overdraft"
    conn.rollback()


def test_a_customer_account_cannot_be_given_unlimited_credit(conn):
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute("UPDATE ledger_accounts SET may_go_negative = true WHERE id = 'g-b'")
    assert caught.value.diag.constraint_name == "only_bank_accounts_go_negative"
    conn.rollback()


def test_holds_count_against_the_overdraft(conn):
    """balance - held >= -overdraft_limit: a hold cannot reserve credit the account lacks."""
    conn.execute("UPDATE ledger_accounts SET overdraft_limit = 500 WHERE id = 'g-b'")
    entry(conn, [("g-a", -300, "EUR"), ("g-b", 300, "EUR")], amount=300)
    conn.commit()
    # held moves only with holds (migration 0009): the holds' trigger sets it.
    conn.execute("INSERT INTO holds (id, account_id, amount, currency, expires_at) "
                 "VALUES (%s, 'g-b', 800, 'EUR', now() + interval '1 day')", (uuid.uuid4(),))  # 300 - 800 = -500
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute("INSERT INTO holds (id, account_id, amount, currency, expires_at) "
                     "VALUES (%s, 'g-b', 1, 'EUR', now() + interval '1 day')", (uuid.uuid4(),))
    assert caught.value.diag.constraint_name == "balance_within_overdraft"
    conn.rollback()


def test_a_closed_account_takes_no_posting_and_stays_closed(conn):
    conn.execute("UPDATE ledger_accounts SET status = 'closed' WHERE id = 'g-b'")
    conn.commit()
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    assert caught.value.diag.constraint_name == "posting_to_closed_account"
    conn.rollback()
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute("UPDATE ledger_accounts SET status = 'active' WHERE id = 'g-b'")
    assert caught.value.diag.constraint_name == "closed_is_terminal"
    conn.rollback()


def test_an_account_with_money_cannot_be_closed(conn):
    entry(conn, [("g-a", -100, "EUR"), ("g-b", 100, "EUR")])
    conn.commit()
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute("UPDATE ledger_accounts SET status = 'closed' WHERE id = 'g-b'")
    assert caught.value.diag.constraint_name == "closed_account_is_empty"
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
            post(conn, reversal, [("g-b", -100, "EUR"), ("g-a", 100, "EUR")])
            conn.commit()
        else:
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute(insert, (reversal, original))
            conn.rollback()
