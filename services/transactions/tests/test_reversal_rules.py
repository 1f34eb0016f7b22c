"""Who may reverse a transfer (API.md "Reversals, completed"), on the real database."""
import pytest

from services.transactions.tests.factories import (balance, change_status, deposit, open_account, transfer)
from tests.support.tokens import auth_header


def reverse(client, customer, transfer_id, key=None, roles=()):
    headers = auth_header("transactions", subject=customer, roles=roles)
    headers["Idempotency-Key"] = key or f"rev-{transfer_id}-{customer}"
    return client.post(f"/api/v1/transfers/{transfer_id}/reverse", headers=headers, json={})



def test_a_sender_cannot_claw_back_money_sent_to_someone_else(client, funded, ledger_counts):
    alice, bob = funded
    sent = transfer(client, "alice", alice, bob, "40.00").get_json()
    before = ledger_counts()
    response = reverse(client, "alice", sent["id"])
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["code"] == "reversal_not_allowed"
    assert (balance(client, alice), balance(client, bob)) == ("60.00", "40.00")
    assert ledger_counts()[:3] == before[:3]  # no entry, posting or event


def test_a_sender_may_reverse_between_their_own_accounts(client, funded):
    alice, _ = funded
    savings = open_account(client, "alice")
    sent = transfer(client, "alice", alice, savings, "25.00").get_json()
    response = reverse(client, "alice", sent["id"])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert (balance(client, alice), balance(client, savings)) == ("100.00", "0.00")


def test_the_receiver_may_refund(client, funded):
    alice, bob = funded
    sent = transfer(client, "alice", alice, bob, "40.00").get_json()
    response = reverse(client, "bob", sent["id"])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["from_account_id"] == bob
    assert (balance(client, alice), balance(client, bob)) == ("100.00", "0.00")


def test_a_transfer_the_caller_is_not_party_to_is_404(client, funded):
    alice, bob = funded
    sent = transfer(client, "alice", alice, bob, "40.00").get_json()
    response = reverse(client, "mallory", sent["id"])
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_a_customer_cannot_reverse_a_deposit(client, funded):
    alice, _ = funded
    funding = deposit(client, alice, "10.00")
    response = reverse(client, "alice", funding["id"])
    assert response.status_code == 403 and response.get_json()["code"] == "reversal_not_allowed"
    assert reverse(client, "ops", funding["id"], roles=("admin",)).status_code == 201


@pytest.mark.parametrize("frozen", ["source", "target"])
def test_an_admin_reverses_out_of_and_into_a_frozen_account(client, funded, frozen):
    alice, bob = funded
    sent = transfer(client, "alice", alice, bob, "40.00").get_json()
    change_status(client, bob if frozen == "source" else alice, "frozen")
    refund = reverse(client, "bob", sent["id"])  # the receiver is held by the freeze like any transfer
    assert refund.status_code == 409 and refund.get_json()["code"] == "account_frozen"
    response = reverse(client, "ops", sent["id"], roles=("admin",))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert (balance(client, alice), balance(client, bob)) == ("100.00", "0.00")


def test_an_admin_reversal_never_goes_below_minus_the_overdraft_limit(client, funded):
    alice, _ = funded
    carol = open_account(client, "carol", overdraft_limit="20.00")
    dave = open_account(client, "dave")
    sent = transfer(client, "alice", alice, carol, "40.00").get_json()
    assert transfer(client, "carol", carol, dave, "35.00").status_code == 201  # carol keeps 5.00
    response = reverse(client, "ops", sent["id"], roles=("admin",))
    assert response.status_code == 422 and response.get_json()["code"] == "insufficient_funds"
    assert balance(client, carol) == "5.00"
    # Within the limit it goes through: 5.00 - 25.00 = -20.00, exactly minus the limit.
    small = transfer(client, "alice", alice, carol, "25.00").get_json()
    assert transfer(client, "carol", carol, dave, "25.00").status_code == 201
    assert reverse(client, "carol", small["id"]).status_code == 201
    assert balance(client, carol) == "-20.00"
