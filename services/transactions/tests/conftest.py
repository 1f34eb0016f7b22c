import pytest
from sqlalchemy import text


@pytest.fixture
def client(transactions_app):
    return transactions_app.test_client()


@pytest.fixture
def ledger_counts(owner_engines):
    """How many entries, postings and outbox events exist: for 'nothing was written' checks."""
    def counts():
        with owner_engines["transactions"].connect() as connection:
            return tuple(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                         for table in ("journal_entries", "postings", "outbox_events", "idempotency_keys"))
    return counts
