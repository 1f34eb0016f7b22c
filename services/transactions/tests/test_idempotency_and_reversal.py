"""Idempotency-Key semantics and reversals (the rollback) on the real database."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.transactions.tests.factories import (balance, deposit, open_account, transfer)
from tests.support.tokens import auth_header



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


def test_a_business_refusal_is_stored_and_replayed_whatever_changed(client, funded, ledger_counts):
    alice, bob = funded
    first = transfer(client, "alice", alice, bob, "150.00", key="k-3")
    assert first.status_code == 422 and first.get_json()["code"] == "insufficient_funds"
    assert first.headers["Idempotent-Replayed"] == "false"
    deposit(client, alice, "100.00")  # the money arrives
    before = ledger_counts()
    again = transfer(client, "alice", alice, bob, "150.00", key="k-3")
    assert (again.status_code, again.get_json()) == (422, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"] == "application/problem+json"
    assert ledger_counts() == before and balance(client, alice) == "200.00"
    # Another body under the key is still refused as a reuse.
    reused = transfer(client, "alice", alice, bob, "15.00", key="k-3")
    assert reused.get_json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("code", ["account_frozen", "kyc_required", "reversal_not_allowed"])
def test_other_business_refusals_are_replayed_too(client, funded, code):
    from .factories import change_status, set_kyc
    alice, bob = funded
    if code == "account_frozen":
        change_status(client, bob, "frozen")
        request = lambda: transfer(client, "alice", alice, bob, "1.00", key="k-r")  # noqa: E731
        undo = lambda: change_status(client, bob, "active")  # noqa: E731
    elif code == "kyc_required":
        set_kyc(client, "alice", "pending", version=2)
        request = lambda: transfer(client, "alice", alice, bob, "1.00", key="k-r")  # noqa: E731
        undo = lambda: set_kyc(client, "alice", "verified", version=3)  # noqa: E731
    else:
        sent = transfer(client, "alice", alice, bob, "1.00").get_json()
        request = lambda: reverse(client, "alice", sent["id"], key="k-r")  # noqa: E731
        undo = lambda: None  # noqa: E731
    first = request()
    assert first.status_code in (403, 409) and first.get_json()["code"] == code
    undo()
    again = request()
    assert (again.status_code, again.get_json(), again.headers["Idempotent-Replayed"]) == \
        (first.status_code, first.get_json(), "true")


def test_validation_errors_and_404_keep_no_key(client, funded):
    alice, bob = funded
    bad = transfer(client, "alice", alice, bob, "1.001", key="k-v")
    assert bad.status_code == 422 and bad.get_json()["code"] == "validation_error"
    fixed = transfer(client, "alice", alice, bob, "1.00", key="k-v")  # another body, same key: fine
    assert fixed.status_code == 201 and fixed.headers["Idempotent-Replayed"] == "false"
    missing = transfer(client, "alice", alice, "acc-later", "1.00", key="k-404")
    assert missing.status_code == 404
    later = open_account(client, "carol", account_id="acc-later")
    assert transfer(client, "alice", alice, later, "1.00", key="k-404").status_code == 201


def test_a_batch_item_refusal_is_replayed_under_its_key(client, funded):
    from .factories import admin_headers
    alice, bob = funded
    item = {"idempotency_key": "b-1", "from_account_id": alice, "to_account_id": bob, "amount": "500.00",
            "currency": "EUR"}

    def send():
        return client.post("/api/v1/admin/transfers/batch", headers=admin_headers(),
                           json={"items": [item], "notify": False}).get_json()["items"][0]

    first = send()
    assert first["status"] == 422 and first["body"]["code"] == "insufficient_funds"
    deposit(client, alice, "1000.00")
    assert send() == first
    assert balance(client, alice) == "1100.00"


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
    assert ledger_counts()[:3] == before[:3]  # no entry, posting or event (the refusal is kept under r2)


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
