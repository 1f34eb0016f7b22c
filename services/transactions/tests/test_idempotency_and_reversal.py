"""Idempotency-Key semantics and reversals (the rollback) on the real database."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.transactions.tests.factories import (balance, deposit, open_account, transfer)
from tests.support.tokens import auth_header


@pytest.fixture
def funded(client):
    alice = open_account(client, "alice")
    bob = open_account(client, "bob")
    deposit(client, alice, "100.00")
    return alice, bob


def test_the_same_key_and_body_replays_the_first_response(client, funded, ledger_counts):
    alice, bob = funded
    first = transfer(client, "alice", alice, bob, "10.00", key="k-1")
    after_first = ledger_counts()
    again = transfer(client, "alice", alice, bob, "10.00", key="k-1")
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ledger_counts() == after_first and balance(client, alice) == "90.00"


def test_the_same_key_with_another_body_is_422(client, funded, ledger_counts):
    alice, bob = funded
    transfer(client, "alice", alice, bob, "10.00", key="k-2")
    before = ledger_counts()
    response = transfer(client, "alice", alice, bob, "11.00", key="k-2")
    assert response.status_code == 422 and response.get_json()["code"] == "idempotency_key_reused"
    assert ledger_counts() == before


def test_keys_are_scoped_per_customer(client, funded):
    alice, bob = funded
    deposit(client, bob, "20.00")
    assert transfer(client, "alice", alice, bob, "10.00", key="shared").status_code == 201
    response = transfer(client, "bob", bob, alice, "5.00", key="shared")
    assert response.status_code == 201 and response.get_json()["from_account_id"] == bob


def test_a_refused_request_keeps_no_key_so_it_can_be_retried(client, funded):
    alice, bob = funded
    assert transfer(client, "alice", alice, bob, "150.00", key="k-3").status_code == 422
    deposit(client, alice, "100.00")
    assert transfer(client, "alice", alice, bob, "150.00", key="k-3").status_code == 201


def test_concurrent_requests_with_one_key_make_one_transfer(transactions_app, funded, ledger_counts):
    alice, bob = funded
    before = ledger_counts()

    def send(_):
        with transactions_app.test_client() as own_client:
            return transfer(own_client, "alice", alice, bob, "7.00", key="k-race")

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(16)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.get_json()["id"] for r in responses}) == 1
    entries, postings, *_ = ledger_counts()
    assert (entries, postings) == (before[0] + 1, before[1] + 2)
    assert balance(transactions_app.test_client(), alice) == "93.00"


def reverse(client, customer, transfer_id, key=None, roles=()):
    headers = auth_header("transactions", subject=customer, roles=roles)
    headers["Idempotency-Key"] = key or f"rev-{transfer_id}-{customer}"
    return client.post(f"/api/v1/transfers/{transfer_id}/reverse", headers=headers, json={})


def test_a_reversal_moves_the_money_back_and_links_both_ways(client, funded):
    alice, bob = funded
    sent = transfer(client, "alice", alice, bob, "40.00").get_json()
    response = reverse(client, "bob", sent["id"])  # the receiver refunds it
    assert response.status_code == 201
    reversal = response.get_json()
    assert reversal["kind"] == "reversal" and reversal["reverses_transfer_id"] == sent["id"]
    assert (reversal["from_account_id"], reversal["to_account_id"], reversal["amount"]) == (bob, alice, "40.00")
    assert (balance(client, alice), balance(client, bob)) == ("100.00", "0.00")
    original = client.get(f"/api/v1/transfers/{sent['id']}", headers=auth_header("transactions", subject="alice"))
    assert original.get_json()["reversed_by"] == reversal["id"]


def test_a_second_reversal_is_409(client, funded, ledger_counts):
    alice, bob = funded
    sent = transfer(client, "alice", alice, bob, "40.00").get_json()
    assert reverse(client, "bob", sent["id"], key="r1").status_code == 201
    before = ledger_counts()
    again = reverse(client, "bob", sent["id"], key="r2")
    assert again.status_code == 409 and again.get_json()["code"] == "already_reversed"
    assert ledger_counts() == before


def test_a_reversal_cannot_take_money_the_receiver_has_spent(client, funded):
    alice, bob = funded
    carol = open_account(client, "carol")
    sent = transfer(client, "alice", alice, bob, "40.00").get_json()
    assert transfer(client, "bob", bob, carol, "35.00").status_code == 201
    for who, roles in (("bob", ()), ("ops", ("admin",))):
        response = reverse(client, who, sent["id"], roles=roles)
        assert response.status_code == 422 and response.get_json()["code"] == "insufficient_funds"


def test_a_reversal_is_not_reversed(client, funded):
    alice, bob = funded
    sent = transfer(client, "alice", alice, bob, "10.00").get_json()
    reversal = reverse(client, "bob", sent["id"]).get_json()
    response = reverse(client, "ops", reversal["id"], roles=("admin",))
    assert response.status_code == 409 and response.get_json()["code"] == "not_reversible"


def test_concurrent_reversals_make_one(transactions_app, funded):
    alice, bob = funded
    client = transactions_app.test_client()
    sent = transfer(client, "alice", alice, bob, "10.00").get_json()

    def attempt(n):
        with transactions_app.test_client() as own:
            return reverse(own, "bob", sent["id"], key=f"race-{n}").status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(attempt, range(6)))
    assert codes == [201, 409, 409, 409, 409, 409]
    assert balance(client, alice) == "100.00"
