"""Reward points: earned on card spending only, taken back with its reversal, redeemed into an
account through the ledger; the balance is the sum of the items, never negative."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.transactions.domain.workflows.rewards import points_for

from .factories import admin_headers, balance, customer_headers, deposit, open_account, transfer


@pytest.fixture
def card(client):
    """Alice's credit card with 1,000.00 of credit, her checking account, and Bob's."""
    card = open_account(client, "alice", account_type="credit_card", overdraft_limit="1000.00")
    checking = open_account(client, "alice")
    bob = open_account(client, "bob")
    return card, checking, bob


def _rewards(client, customer="alice"):
    response = client.get("/api/v1/rewards", headers=customer_headers(customer))
    assert response.status_code == 200
    return response.get_json()


def _sum_of_items(owner_engines, customer):
    with owner_engines["transactions"].connect() as connection:
        return connection.execute(text("SELECT coalesce(sum(points), 0) FROM reward_items WHERE customer_id = :c"),
                                  {"c": customer}).scalar_one()


def test_points_are_whole_units():
    assert points_for(1099, "EUR") == 10 and points_for(1500, "JPY") == 1500 and points_for(99, "EUR") == 0
    assert points_for(12345, "BHD") == 12


def test_card_spending_earns_and_own_moves_do_not(client, card, owner_engines):
    card_id, checking, bob = card
    assert transfer(client, "alice", card_id, bob, "25.99").status_code == 201
    assert transfer(client, "alice", card_id, checking, "100.00").status_code == 201  # her own account
    deposit(client, checking, "50.00")
    assert transfer(client, "alice", checking, bob, "40.00").status_code == 201  # not a card
    rewards = _rewards(client)
    assert rewards["points_balance"] == 25 == _sum_of_items(owner_engines, "alice")
    assert [(i["points"], i["reason"]) for i in rewards["items"]] == [(25, "card_spending")]
    assert rewards["program"]["points_per_cash_unit"] == 100
    assert _rewards(client, "bob")["points_balance"] == 0
    with owner_engines["transactions"].connect() as connection:
        [event] = connection.execute(text("SELECT payload FROM outbox_events WHERE event_type = 'rewards.earned'")
                                     ).scalars().all()
    data = event.get("data", event)
    assert (data["customer_id"], data["points"], data["points_balance"]) == ("alice", 25, 25)


def test_paying_an_iban_and_a_card_capture_earn(client, card):
    card_id, _, _ = card
    sent = client.post("/api/v1/transfers", headers=customer_headers("alice"), json={
        "from_account_id": card_id, "to_iban": "DE89370400440532013000", "beneficiary_name": "Shop GmbH",
        "amount": "10.00", "currency": "EUR"})
    assert sent.status_code == 201, sent.get_json()
    hold = client.post("/api/v1/holds", headers=admin_headers(), json={
        "account_id": card_id, "amount": "30.00", "currency": "EUR", "merchant": "Cafe",
        "expires_at": (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()}).get_json()
    captured = client.post(f"/api/v1/holds/{hold['id']}/capture", json={"amount": "20.00"}, headers=admin_headers())
    assert captured.status_code == 201, captured.get_json()
    assert _rewards(client)["points_balance"] == 30


def test_a_reversal_takes_the_points_back(client, card, owner_engines):
    card_id, _, bob = card
    spent = transfer(client, "alice", card_id, bob, "60.00").get_json()
    assert _rewards(client)["points_balance"] == 60
    refund = client.post(f"/api/v1/transfers/{spent['id']}/reverse", json={}, headers=customer_headers("bob"))
    assert refund.status_code == 201, refund.get_json()
    rewards = _rewards(client)
    assert rewards["points_balance"] == 0 == _sum_of_items(owner_engines, "alice")
    assert [(i["points"], i["reason"]) for i in rewards["items"]] == [(-60, "spending_reversed"), (60, "card_spending")]


def test_redeem_pays_cash_from_the_rewards_account(client, card, owner_engines):
    card_id, checking, bob = card
    transfer(client, "alice", card_id, bob, "250.00")
    key = customer_headers("alice", key="redeem-1")
    redeemed = client.post("/api/v1/rewards/redeem", json={"points": 200, "to_account_id": checking}, headers=key)
    assert redeemed.status_code == 201, redeemed.get_json()
    body = redeemed.get_json()
    assert (body["amount"], body["points_redeemed"], body["points_balance"], body["kind"]) == \
        ("2.00", 200, 50, "rewards_redemption")
    assert client.post("/api/v1/rewards/redeem", json={"points": 200, "to_account_id": checking},
                       headers=key).get_json() == body
    assert balance(client, checking) == "2.00"
    assert _rewards(client)["points_balance"] == 50 == _sum_of_items(owner_engines, "alice")
    with owner_engines["transactions"].connect() as connection:
        assert connection.execute(text("SELECT balance FROM ledger_accounts WHERE id = 'internal:rewards:EUR'")
                                  ).scalar_one() == -200


def test_bad_redemptions_write_nothing(client, card, ledger_counts):
    card_id, checking, bob = card
    transfer(client, "alice", card_id, bob, "5.00")
    before = ledger_counts()
    too_many = client.post("/api/v1/rewards/redeem", json={"points": 6, "to_account_id": checking},
                           headers=customer_headers("alice"))
    assert too_many.status_code == 422 and too_many.get_json()["code"] == "insufficient_points"
    for body in ({"points": 0, "to_account_id": checking}, {"points": -5, "to_account_id": checking},
                 {"points": "5", "to_account_id": checking}, {"points": 10 ** 13, "to_account_id": checking}):
        response = client.post("/api/v1/rewards/redeem", json=body, headers=customer_headers("alice"))
        assert response.status_code == 422, (body, response.get_json())
    assert client.post("/api/v1/rewards/redeem", json={"points": 5, "to_account_id": bob},
                       headers=customer_headers("alice")).status_code == 404
    entries, postings, _, _ = ledger_counts()
    assert (entries, postings) == before[:2]
    assert _rewards(client)["points_balance"] == 5


def test_the_database_keeps_the_points_ledger(client, card, owner_engines):
    card_id, _, bob = card
    transfer(client, "alice", card_id, bob, "5.00")
    for statement in ("UPDATE reward_items SET points = 500", "DELETE FROM reward_items",
                      "UPDATE reward_balances SET points = 500",
                      "INSERT INTO reward_items (customer_id, points, reason) VALUES ('alice', -6, 'redeemed')",
                      "INSERT INTO reward_items (customer_id, points, reason) VALUES ('alice', -1, 'card_spending')"):
        with pytest.raises(DBAPIError):
            with owner_engines["transactions"].begin() as connection:
                connection.execute(text(statement))
    assert _sum_of_items(owner_engines, "alice") == 5
