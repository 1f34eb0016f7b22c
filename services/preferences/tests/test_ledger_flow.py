"""The event flow for real: a transfer posted by the ledger notifies through the outbox.

All four apps run as gunicorn processes (the `suite` fixture); the customer registers,
opens accounts and moves money through the gateway, as a client would. The ledger's own
`transfer.posted` payload is then read from its outbox and delivered again.
"""
import uuid

import pytest
import requests
from sqlalchemy import text

from services.preferences.events import TransferPostedSchema
from tests.support.clients import eventually, sign_up
from tests.support.tokens import auth_header

pytestmark = pytest.mark.e2e


@pytest.fixture
def customer(suite):
    return sign_up(suite.url("gateway"), "notify")


def _open_account(suite, customer) -> str:
    response = requests.post(suite.url("gateway") + "/api/v1/accounts", timeout=10,
                             json={"type": "checking", "currency": "EUR"},
                             headers=customer["headers"])
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _deposit(suite, account_id: str, amount: str):
    """As an admin, directly at the ledger; retried until account.opened has reached it."""
    headers = {**auth_header("transactions", subject=str(uuid.uuid4()), roles=("admin",)),
               "Idempotency-Key": str(uuid.uuid4())}
    body = {"account_id": account_id, "amount": amount, "currency": "EUR", "description": "pay"}

    def attempt():
        response = requests.post(suite.url("transactions") + "/api/v1/admin/deposits",
                                 json=body, headers=headers, timeout=10)
        return response if response.status_code != 404 else None

    response = eventually(attempt)
    assert response is not None and response.status_code == 201, response and response.text


def _notifications(suite, customer, query: str = "") -> list[dict]:
    response = requests.get(suite.url("gateway") + "/api/v1/notifications" + query,
                            headers=customer["headers"], timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _outbox_payload(owner_engines, transfer_id: str) -> dict:
    with owner_engines["transactions"].connect() as connection:
        return connection.execute(text(
            "SELECT payload FROM outbox_events WHERE event_type = 'transfer.posted' "
            "AND destination = 'preferences' AND payload -> 'data' ->> 'transfer_id' = :id"),
            {"id": transfer_id}).scalar_one()


def test_a_transfer_under_the_threshold_notifies_once_even_redelivered(
        suite, customer, suite_owner_engines):
    checking, savings = _open_account(suite, customer), _open_account(suite, customer)
    _deposit(suite, checking, "150.00")  # a credit: no alert
    # The ledger hears of each account through the outbox: the transfer needs both.
    assert eventually(lambda: requests.get(f"{suite.url('gateway')}/api/v1/accounts/{savings}/transactions",
                                           headers=customer["headers"], timeout=10).status_code == 200)
    transfer = requests.post(
        suite.url("gateway") + "/api/v1/transfers", timeout=10,
        headers={**customer["headers"], "Idempotency-Key": str(uuid.uuid4())},
        json={"from_account_id": checking, "to_account_id": savings, "amount": "60.00",
              "currency": "EUR", "description": "to savings"})
    assert transfer.status_code == 201, transfer.text

    def balance_alerts():
        return [n for n in _notifications(suite, customer) if n["kind"] == "low_balance"]

    items = eventually(balance_alerts)
    assert [(n["kind"], n["data"]["account_id"], n["data"]["balance_after"]) for n in items] == \
        [("low_balance", checking, "90.00")]
    # The accounts service told preferences of both openings too (account events go to both).
    def both_openings():
        found = [n for n in _notifications(suite, customer) if n["kind"] == "account_opened"]
        return found if len(found) == 2 else None

    opened = eventually(both_openings)
    assert sorted(n["data"]["account_id"] for n in opened) == sorted([checking, savings])

    # The ledger's envelope, exactly as its relay sent it, fits what this service expects ...
    payload = _outbox_payload(suite_owner_engines, transfer.json()["id"])
    TransferPostedSchema().load(payload["data"])
    # ... and delivered again it is acknowledged as a duplicate and raises nothing more.
    again = requests.post(suite.url("preferences") + "/internal/events", json=payload,
                          headers=auth_header("preferences", caller="transactions"), timeout=10)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(balance_alerts()) == 1

    read = requests.post(f"{suite.url('gateway')}/api/v1/notifications/{items[0]['id']}/read",
                         headers=customer["headers"], timeout=10)
    assert read.status_code == 204
    unread = _notifications(suite, customer, "?unread=true")
    assert items[0]["id"] not in [n["id"] for n in unread] and len(unread) == 2
