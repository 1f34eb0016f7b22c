"""Transfers and deposits through the service's API on the real database."""
import pytest

from services.transactions.tests.factories import (admin_headers, balance, change_status, customer_headers,
                                                   deposit, open_account, transfer)
from tests.support.tokens import auth_header



def test_a_transfer_moves_money_and_answers_the_contract(client, funded):
    alice, bob = funded
    response = transfer(client, "alice", alice, bob, "12.50", description="Lunch")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert {k: body[k] for k in ("status", "from_account_id", "to_account_id", "amount", "currency")} == {
        "status": "posted", "from_account_id": alice, "to_account_id": bob, "amount": "12.50", "currency": "EUR"}
    assert body["id"] and body["created_at"].endswith("Z")
    assert (balance(client, alice), balance(client, bob)) == ("87.50", "12.50")
    fetched = client.get(f"/api/v1/transfers/{body['id']}", headers=auth_header("transactions", subject="bob"))
    assert fetched.status_code == 200 and fetched.get_json()["amount"] == "12.50"


def test_a_transfer_publishes_transfer_posted_with_the_new_balances(client, funded, owner_engines):
    from sqlalchemy import text
    alice, bob = funded
    transfer(client, "alice", alice, bob, "30.00")
    with owner_engines["transactions"].connect() as connection:
        payloads = connection.execute(text(
            "SELECT payload FROM outbox_events WHERE event_type = 'transfer.posted' "
            "AND destination = 'preferences' ORDER BY id")).scalars().all()
    data = payloads[-1]["data"]
    assert data["kind"] == "transfer" and data["amount"] == "30.00"
    assert {(p["account_id"], p["customer_id"], p["amount"], p["balance_after"]) for p in data["postings"]} == {
        (alice, "alice", "-30.00", "70.00"), (bob, "bob", "30.00", "30.00")}


def test_the_overdraft_limit_is_usable_and_no_further(client):
    alice = open_account(client, "alice", overdraft_limit="50.00")
    bob = open_account(client, "bob")
    deposit(client, alice, "10.00")
    assert transfer(client, "alice", alice, bob, "60.00").status_code == 201
    assert balance(client, alice) == "-50.00"
    refused = transfer(client, "alice", alice, bob, "0.01")
    assert refused.status_code == 422 and refused.get_json()["code"] == "insufficient_funds"


def test_minor_units_follow_the_currency(client):
    yen = open_account(client, "alice", currency="JPY")
    other = open_account(client, "bob", currency="JPY")
    deposit(client, yen, "1000", currency="JPY")
    assert transfer(client, "alice", yen, other, "250", currency="JPY").status_code == 201
    assert balance(client, yen) == "750"
    dinar = open_account(client, "alice", currency="BHD")
    deposit(client, dinar, "1.234", currency="BHD")
    assert balance(client, dinar) == "1.234"


@pytest.mark.parametrize("amount,currency,field", [
    ("1.001", "EUR", "amount"),      # more places than EUR has
    ("1.500", "EUR", "amount"),
    ("1.5", "JPY", "amount"),
    ("0", "EUR", "amount"),
    ("-5.00", "EUR", "amount"),
    ("ten", "EUR", "amount"),
    ("NaN", "EUR", "amount"),
    ("1.00", "EUX", "currency"),     # unknown
    ("1.00", "XAU", "currency"),     # no minor unit: not money we hold
])
def test_bad_amounts_are_422_naming_the_field_and_write_nothing(client, funded, ledger_counts, amount,
                                                                currency, field):
    alice, bob = funded
    before = ledger_counts()
    response = transfer(client, "alice", alice, bob, amount, currency=currency)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error" and field in body["errors"]
    assert ledger_counts() == before


def test_a_json_number_is_not_an_amount(client, funded):
    alice, bob = funded
    response = client.post("/api/v1/transfers", headers=customer_headers("alice"),
                           json={"from_account_id": alice, "to_account_id": bob, "amount": 1.1, "currency": "EUR"})
    assert response.status_code == 422 and "amount" in response.get_json()["errors"]


def test_rule_breaks_answer_their_code_and_write_nothing(client, funded, ledger_counts):
    alice, bob = funded
    usd = open_account(client, "alice", currency="USD")
    someone = open_account(client, "carol")
    deposit(client, someone, "5.00")
    before = ledger_counts()
    cases = [
        (transfer(client, "alice", alice, bob, "100.01"), 422, "insufficient_funds"),
        (transfer(client, "alice", alice, bob, "1.00", currency="USD"), 422, "currency_mismatch"),
        (transfer(client, "alice", alice, usd, "1.00"), 422, "fx_rate_unavailable"),  # no EUR/USD rate
        (transfer(client, "alice", alice, alice, "1.00"), 422, "same_account"),
        (transfer(client, "alice", "acc-missing", bob, "1.00"), 404, "not_found"),
        (transfer(client, "alice", alice, "acc-missing", "1.00"), 404, "not_found"),
        (transfer(client, "alice", someone, bob, "1.00"), 404, "not_found"),   # carol's account
        (transfer(client, "alice", alice, "internal:settlement:EUR", "1.00"), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.get_json()["code"]) == (status, code), response.get_json()
    assert ledger_counts()[:3] == before[:3]  # no money moved; the refusals are kept under their keys


def test_frozen_accounts_are_409_on_either_side(client, funded, ledger_counts):
    alice, bob = funded
    change_status(client, bob, "frozen")
    before = ledger_counts()
    response = transfer(client, "alice", alice, bob, "1.00")
    assert response.status_code == 409 and response.get_json()["code"] == "account_frozen"
    change_status(client, bob, "active")
    change_status(client, alice, "frozen")
    response = transfer(client, "alice", alice, bob, "1.00")
    assert response.status_code == 409 and response.get_json()["code"] == "account_frozen"
    assert ledger_counts()[:3] == before[:3]


def test_closed_accounts_are_409_on_either_side(client, funded, ledger_counts):
    alice, _ = funded
    carol = open_account(client, "carol", overdraft_limit="50.00")  # a limit: status is checked before funds
    change_status(client, carol, "closed")
    before = ledger_counts()
    for source, target, customer in ((alice, carol, "alice"), (carol, alice, "carol")):
        response = transfer(client, customer, source, target, "1.00")
        assert response.status_code == 409 and response.get_json()["code"] == "account_closed"
    assert ledger_counts()[:3] == before[:3]


def test_a_money_write_without_an_idempotency_key_is_400(client, funded, ledger_counts):
    alice, bob = funded
    before = ledger_counts()
    headers = auth_header("transactions", subject="alice")
    response = client.post("/api/v1/transfers", headers=headers,
                           json={"from_account_id": alice, "to_account_id": bob, "amount": "1.00", "currency": "EUR"})
    assert response.status_code == 400 and response.get_json()["code"] == "idempotency_key_required"
    assert ledger_counts() == before


def test_malformed_json_is_400(client, funded):
    response = client.post("/api/v1/transfers", headers=customer_headers("alice"), data="{oops",
                           content_type="application/json")
    assert response.status_code == 400


def test_deposits_are_for_admins_only(client):
    alice = open_account(client, "alice")
    response = client.post("/api/v1/admin/deposits", headers=customer_headers("alice"),
                           json={"account_id": alice, "amount": "5.00", "currency": "EUR"})
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    ok = client.post("/api/v1/admin/deposits", headers=admin_headers(),
                     json={"account_id": alice, "amount": "5.00", "currency": "EUR"})
    assert ok.status_code == 201 and ok.get_json()["kind"] == "deposit"


def test_another_customers_transfer_is_404(client, funded):
    alice, bob = funded
    sent = transfer(client, "alice", alice, bob, "1.00").get_json()
    response = client.get(f"/api/v1/transfers/{sent['id']}", headers=auth_header("transactions", subject="mallory"))
    assert response.status_code == 404
    assert client.get("/api/v1/transfers/not-a-uuid", headers=auth_header("transactions", subject="alice")).status_code == 404


def test_the_balance_read_is_for_services(client, funded):
    alice, _ = funded
    as_gateway = client.get(f"/internal/ledger-accounts?ids={alice}", headers=auth_header("transactions"))
    assert as_gateway.status_code == 403
    as_accounts = client.get(f"/internal/ledger-accounts?ids={alice},nope",
                             headers=auth_header("transactions", caller="accounts"))
    assert as_accounts.get_json()["items"] == [{
        "account_id": alice, "customer_id": "alice", "currency": "EUR", "status": "active",
        "balance": "100.00", "available_balance": "100.00", "held": "0.00", "overdraft_limit": "0.00"}]


def test_account_events_are_applied_once(client):
    import uuid
    event = {"id": str(uuid.uuid4()), "type": "account.opened", "source": "accounts",
             "occurred_at": "2026-11-25T00:00:00Z",
             "data": {"account_id": "acc-x", "customer_id": "alice", "currency": "EUR", "type": "checking",
                      "overdraft_limit": "25.00", "status": "active"}}
    headers = auth_header("transactions", caller="accounts")
    assert client.post("/internal/events", json=event, headers=headers).get_json()["status"] == "processed"
    assert client.post("/internal/events", json=event, headers=headers).get_json()["status"] == "duplicate"
    items = client.get("/internal/ledger-accounts?ids=acc-x", headers=headers).get_json()["items"]
    assert items[0]["overdraft_limit"] == "25.00"
