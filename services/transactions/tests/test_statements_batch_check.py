"""Statements, batch ingestion and the integrity check on the real database."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from devstack.stack import ROOT
from services.transactions.tests.factories import (ADMIN, admin_headers, balance, deposit, open_account,
                                                   transfer)
from tests.support.tokens import auth_header


def statement(client, customer, account, **query):
    return client.get(f"/api/v1/accounts/{account}/transactions", query_string=query,
                      headers=auth_header("transactions", subject=customer))


def test_statement_lines_newest_first_with_running_balance(client):
    alice = open_account(client, "alice")
    bob = open_account(client, "bob")
    deposit(client, alice, "100.00")
    transfer(client, "alice", alice, bob, "10.00", description="Rent", category="utilities")
    transfer(client, "alice", alice, bob, "2.50", description="Coffee", category="groceries")
    body = statement(client, "alice", alice).get_json()
    assert [(l["amount"], l["balance_after"], l["description"], l["category"]) for l in body["items"]] == [
        ("-2.50", "87.50", "Coffee", "groceries"), ("-10.00", "90.00", "Rent", "utilities"),
        ("100.00", "100.00", "Deposit", "other")]
    assert body["next_cursor"] is None
    line = body["items"][0]
    assert set(line) >= {"id", "transfer_id", "amount", "currency", "balance_after", "description", "category",
                         "created_at"}
    food = statement(client, "alice", alice, category="groceries").get_json()["items"]
    assert [l["description"] for l in food] == ["Coffee"]
    credited = statement(client, "bob", bob).get_json()["items"]
    assert [l["amount"] for l in credited] == ["2.50", "10.00"]


def test_statement_pages_follow_the_cursor_without_gaps_or_repeats(client):
    alice = open_account(client, "alice")
    bob = open_account(client, "bob")
    deposit(client, alice, "100.00")
    for n in range(12):
        transfer(client, "alice", alice, bob, "1.00", description=f"t{n}")
    seen, cursor = [], None
    while True:
        page = statement(client, "alice", alice, limit=5, **({"cursor": cursor} if cursor else {})).get_json()
        seen.extend(line["id"] for line in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = statement(client, "alice", alice, limit=500).get_json()["items"]
    assert seen == [line["id"] for line in everything] and len(seen) == 13


def test_statement_date_filters(client):
    alice = open_account(client, "alice")
    deposit(client, alice, "1.00")
    lines = statement(client, "alice", alice).get_json()["items"]
    created = lines[0]["created_at"]
    assert statement(client, "alice", alice, **{"from": created}).get_json()["items"]
    assert statement(client, "alice", alice, to=created).get_json()["items"] == []
    assert statement(client, "alice", alice, **{"from": "2000-01-01T00:00:00Z", "to": "2001-01-01T00:00:00Z"}) \
        .get_json()["items"] == []


@pytest.mark.parametrize("query,field", [({"limit": 0}, "limit"), ({"limit": 501}, "limit"),
                                         ({"cursor": "garbage!"}, "cursor"), ({"from": "yesterday"}, "from")])
def test_bad_statement_queries_are_422(client, query, field):
    alice = open_account(client, "alice")
    response = statement(client, "alice", alice, **query)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_another_customers_statement_is_404(client):
    alice = open_account(client, "alice")
    assert statement(client, "mallory", alice).status_code == 404
    assert statement(client, "alice", "acc-none").status_code == 404


def batch(client, items, **extra):
    return client.post("/api/v1/admin/transfers/batch", headers=admin_headers(), json={"items": items, **extra})


def test_a_batch_answers_per_item_and_writes_only_the_good_ones(client, ledger_counts):
    alice = open_account(client, "alice")
    bob = open_account(client, "bob")
    deposit(client, alice, "10.00")
    items = [
        {"idempotency_key": "b1", "from_account_id": alice, "to_account_id": bob, "amount": "4.00", "currency": "EUR"},
        {"idempotency_key": "b2", "from_account_id": alice, "to_account_id": bob, "amount": "7.00", "currency": "EUR"},
        {"idempotency_key": "b3", "from_account_id": bob, "to_account_id": alice, "amount": "1.00", "currency": "EUR"},
        {"idempotency_key": "b4", "from_account_id": alice, "to_account_id": bob, "amount": "1.001", "currency": "EUR"},
        {"idempotency_key": "b1", "from_account_id": alice, "to_account_id": bob, "amount": "4.00", "currency": "EUR"},
    ]
    response = batch(client, items)
    assert response.status_code == 200
    body = response.get_json()
    assert [(r["index"], r["status"]) for r in body["items"]] == [(0, 201), (1, 422), (2, 201), (3, 422), (4, 422)]
    assert body["items"][1]["body"]["code"] == "insufficient_funds"
    assert "amount" in body["items"][3]["body"]["errors"]
    assert (body["posted"], body["failed"]) == (2, 3)
    assert (balance(client, alice), balance(client, bob)) == ("7.00", "3.00")

    before = ledger_counts()
    replay = batch(client, items[:3]).get_json()
    assert replay["items"][0]["body"] == body["items"][0]["body"]      # replayed, not posted again
    assert replay["items"][1] == body["items"][1]                       # b2's refusal is replayed too
    assert replay["items"][2]["body"] == body["items"][2]["body"]
    assert ledger_counts()[0] == before[0]


def test_a_batch_is_for_admins_and_at_most_1000(client):
    headers = auth_header("transactions", subject="alice")
    assert client.post("/api/v1/admin/transfers/batch", headers=headers, json={"items": [{}]}).status_code == 403
    response = batch(client, [{}] * 1001)
    assert response.status_code == 422 and "items" in response.get_json()["errors"]
