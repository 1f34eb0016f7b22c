import pytest
from sqlalchemy import text

from .factories import deposit, open_account


@pytest.fixture
def client(transactions_app):
    return transactions_app.test_client()


@pytest.fixture
def funded(client):
    """Alice has 100.00 EUR in her checking account; Bob has an empty one."""
    alice = open_account(client, "alice")
    bob = open_account(client, "bob")
    deposit(client, alice, "100.00")
    return alice, bob


@pytest.fixture
def ledger_counts(owner_engines):
    """How many entries, postings and outbox events exist: for 'nothing was written' checks."""
    def counts():
        with owner_engines["transactions"].connect() as connection:
            return tuple(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                         for table in ("journal_entries", "postings", "outbox_events", "idempotency_keys"))
    return counts
