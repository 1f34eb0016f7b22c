"""Account events from the accounts service: applied once; a malformed one is a 422 and changes nothing."""
import uuid

import pytest
from sqlalchemy import text

from tests.support.tokens import auth_header

from .factories import open_account


def post_event(client, event_type: str, data: dict):
    event = {"id": str(uuid.uuid4()), "type": event_type, "source": "accounts",
             "occurred_at": "2026-11-25T00:00:00Z", "data": data}
    return client.post("/internal/events", json=event, headers=auth_header("transactions", caller="accounts"))


def ledger_account(owner_engines, account_id):
    with owner_engines["transactions"].connect() as connection:
        return connection.execute(text("SELECT status, overdraft_limit, currency FROM ledger_accounts "
                                       "WHERE id = :id"), {"id": account_id}).first()


@pytest.mark.parametrize("event_type,data,field", [
    ("account.opened", {"account_id": "acc-bad", "currency": "EUR"}, "customer_id"),
    ("account.opened", {"account_id": "acc-bad", "customer_id": "c", "currency": "EURO"}, "currency"),
    ("account.opened", {"account_id": "acc-bad", "customer_id": "c", "currency": "JPY",
                        "overdraft_limit": "0.5"}, "overdraft_limit"),
    ("account.opened", {"account_id": "acc-bad", "customer_id": "c", "currency": "EUR",
                        "overdraft_limit": "-1"}, "overdraft_limit"),
    ("account.status_changed", {"account_id": "acc-bad", "status": "asleep"}, "status"),
    ("account.closed", {}, "account_id"),
])
def test_a_malformed_account_event_is_refused_and_changes_nothing(client, owner_engines, event_type, data, field):
    response = post_event(client, event_type, data)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]
    assert ledger_account(owner_engines, "acc-bad") is None
    with owner_engines["transactions"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM processed_events")).scalar_one() == 0


def test_status_changes_and_closing_are_mirrored(client, owner_engines):
    account = open_account(client, "cust-events", currency="JPY", overdraft_limit="500")
    assert tuple(ledger_account(owner_engines, account)) == ("active", 500, "JPY")
    assert post_event(client, "account.status_changed", {"account_id": account, "status": "frozen"}).status_code == 200
    assert ledger_account(owner_engines, account).status == "frozen"
    assert post_event(client, "account.closed", {"account_id": account, "customer_id": "cust-events"}).status_code == 200
    assert ledger_account(owner_engines, account).status == "closed"
