"""External and international transfers to an IBAN: pending at once through outgoing clearing,
the fee on top; settled or returned once by an admin; an IBAN of this bank is an internal
transfer; bad IBANs, other customers' accounts and customers on admin routes change nothing."""
import threading
import uuid

import pytest
from sqlalchemy import text

from services.accounts.numbers import account_number
from services.transactions.domain.ledger.external import InvalidIban, parse_iban
from services.transactions.tests.factories import (admin_headers, balance, customer_headers, open_account,
                                                   transfer)
from services.transactions.tests.test_fx_transfers import postings_of, put_fee
from services.transactions.tests.test_ledger_check import check_now

GERMAN = "DE89370400440532013000"      # Commerzbank, Germany: international
BRITISH = "GB29NWBK60161331926819"     # NatWest, the bank's own country: external, not international


def send(client, customer, source, iban, amount="10.00", key=None, **extra):
    return client.post("/api/v1/transfers", headers=customer_headers(customer, key),
                       json={"from_account_id": source, "to_iban": iban, "beneficiary_name": "Erika Mustermann",
                             "amount": amount, "currency": "EUR", **extra})


def settle(client, transfer_id, action="settle", headers=None):
    return client.post(f"/api/v1/admin/transfers/{transfer_id}/{action}", headers=headers or admin_headers())


@pytest.fixture
def fees(client):
    put_fee(client, "external", "0", "0.25", "EUR")
    put_fee(client, "international", "1.00", "1.50", "EUR")


# --- pure rules -------------------------------------------------------------------------------

def test_parse_iban_gives_country_bank_and_compact_form():
    beneficiary = parse_iban("de89 3704 0044 0532 0130 00")
    assert (beneficiary.iban, beneficiary.country, beneficiary.bic, beneficiary.international,
            beneficiary.is_this_bank) == (GERMAN, "DE", "COBADEFFXXX", True, False)
    assert parse_iban(BRITISH).international is False
    assert parse_iban(account_number(7)).is_this_bank


@pytest.mark.parametrize("bad", ["DE89370400440532013001", "DE8937040044053201300", "XX89370400440532013000",
                                 "", "GB29NWBK6016133192681!"])
def test_parse_iban_refuses_wrong_check_digits_length_and_country(bad):
    with pytest.raises(InvalidIban):
        parse_iban(bad)


# --- through the API --------------------------------------------------------------------------

def test_an_international_transfer_is_pending_at_once_with_its_fee(client, funded, fees, owner_engines):
    alice, _ = funded
    response = send(client, "alice", alice, GERMAN, "20.00", description="Rent")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["external"], body["international"], body["to_iban"], body["fee"],
            body["beneficiary_name"], body["to_account_id"]) == (
        "pending", True, True, GERMAN, "1.50", "Erika Mustermann", None)  # 1 % = 0.20 < the minimum
    assert balance(client, alice) == "78.50"
    assert postings_of(owner_engines, body["id"]) == [
        (alice, -2150, "EUR", "customer"),
        ("internal:outgoing_clearing:EUR", 2000, "EUR", "outgoing_clearing"),
        ("internal:fees:EUR", 150, "EUR", "fees")]
    read = client.get(f"/api/v1/transfers/{body['id']}", headers=customer_headers("alice")).get_json()
    assert (read["status"], read["external"], read["to_iban"]) == ("pending", True, GERMAN)
    assert check_now(client)["ok"]


def test_a_domestic_external_transfer_is_not_international(client, funded, fees):
    alice, _ = funded
    body = send(client, "alice", alice, BRITISH).get_json()
    assert (body["status"], body["international"], body["fee"]) == ("pending", False, "0.25")


def test_settling_posts_it_once_and_moves_clearing_to_settlement(client, funded, fees, owner_engines):
    alice, _ = funded
    sent = send(client, "alice", alice, GERMAN, "20.00").get_json()
    response = settle(client, sent["id"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "posted"
    assert balance(client, alice) == "78.50"  # the money had already left
    with owner_engines["transactions"].connect() as connection:
        clearing = connection.execute(text(
            "SELECT balance FROM ledger_accounts WHERE id = 'internal:outgoing_clearing:EUR'")).scalar_one()
    assert clearing == 0
    again = settle(client, sent["id"])
    assert again.status_code == 409 and again.get_json()["code"] == "invalid_state"
    assert settle(client, sent["id"], "return").status_code == 409
    assert check_now(client)["ok"]


def test_a_return_gives_back_amount_and_fee_in_full(client, funded, fees):
    alice, _ = funded
    sent = send(client, "alice", alice, GERMAN, "20.00").get_json()
    response = settle(client, sent["id"], "return")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "returned" and body["reversed_by"]
    assert balance(client, alice) == "100.00"
    assert settle(client, sent["id"], "return").get_json()["code"] == "invalid_state"
    assert settle(client, sent["id"]).status_code == 409
    # Pending, then returned, in the statement with its status.
    lines = client.get(f"/api/v1/accounts/{alice}/transactions", headers=customer_headers("alice")).get_json()
    assert [line["amount"] for line in lines["items"][:2]] == ["21.50", "-21.50"]
    assert check_now(client)["ok"]


def test_concurrent_settle_and_return_decide_once(client, funded, fees, transactions_app):
    alice, _ = funded
    sent = send(client, "alice", alice, GERMAN, "20.00").get_json()
    results = []

    def decide(action):
        with transactions_app.test_client() as own:
            results.append(settle(own, sent["id"], action).status_code)

    threads = [threading.Thread(target=decide, args=(a,)) for a in ("settle", "return", "settle", "return")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409, 409, 409]
    assert balance(client, alice) in ("78.50", "100.00")
    assert check_now(client)["ok"]


def test_a_customer_cannot_reverse_settle_or_return(client, funded, fees):
    alice, _ = funded
    sent = send(client, "alice", alice, GERMAN).get_json()
    reverse = client.post(f"/api/v1/transfers/{sent['id']}/reverse", headers=customer_headers("alice"), json={})
    assert reverse.get_json()["code"] == "not_reversible"
    for action in ("settle", "return"):
        refused = settle(client, sent["id"], action, headers=customer_headers("alice"))
        assert refused.status_code == 403
    admin_reverse = client.post(f"/api/v1/transfers/{sent['id']}/reverse", headers=admin_headers(), json={})
    assert admin_reverse.get_json()["code"] == "not_reversible"
    assert client.get(f"/api/v1/transfers/{sent['id']}", headers=customer_headers("alice")).get_json()[
        "status"] == "pending"
    assert balance(client, alice) == "88.50"


def test_unknown_or_internal_ids_are_404(client, funded):
    assert settle(client, uuid.uuid4()).status_code == 404
    assert settle(client, "not-a-uuid").status_code == 404
    alice, bob = funded
    internal = transfer(client, "alice", alice, bob, "1.00").get_json()
    assert settle(client, internal["id"]).status_code == 404  # not an external transfer


def test_an_iban_of_this_bank_is_an_internal_transfer(client, funded):
    alice, _ = funded
    number = account_number(424242)
    carol = open_account(client, "carol", number=number)
    body = send(client, "alice", alice, number, "5.00").get_json()
    assert (body["status"], body["to_account_id"], body.get("external")) == ("posted", carol, None)
    assert balance(client, carol) == "5.00"
    unknown = send(client, "alice", alice, account_number(999999))
    assert unknown.status_code == 422 and "to_iban" in unknown.get_json()["errors"]


@pytest.mark.parametrize("change", [
    {"to_iban": "DE89370400440532013001"},                      # check digits
    {"to_iban": "DE8937040044053201300"},                       # length
    {"to_iban": "ZZ89370400440532013000"},                      # country
    {"to_iban": "D" * 5000},
    {"beneficiary_name": None},
    {"beneficiary_name": ""},
    {"to_account_id": "acc-x"},                                 # both destinations
])
def test_bad_external_requests_are_422_and_write_nothing(client, funded, change, ledger_counts):
    alice, _ = funded
    before = ledger_counts()
    body = {"from_account_id": alice, "to_iban": GERMAN, "beneficiary_name": "E. M.", "amount": "1.00",
            "currency": "EUR", **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/transfers", headers=customer_headers("alice"), json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["code"] == "validation_error"
    assert ledger_counts() == before


def test_another_customers_account_and_unverified_customers(client, funded):
    alice, _ = funded
    assert send(client, "mallory", alice, GERMAN).status_code == 404
    newcomer = open_account(client, "newcomer", kyc="pending")
    refused = send(client, "newcomer", newcomer, GERMAN)
    assert refused.status_code == 403 and refused.get_json()["code"] == "kyc_required"


def test_funds_must_cover_amount_and_fee_and_refusals_replay(client, funded, fees, ledger_counts):
    alice, _ = funded
    before = ledger_counts()
    refused = send(client, "alice", alice, GERMAN, "99.00", key="k-ext-1")
    assert refused.status_code == 422 and refused.get_json()["code"] == "insufficient_funds"
    again = send(client, "alice", alice, GERMAN, "99.00", key="k-ext-1")
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == refused.get_json()
    assert ledger_counts()[:2] == before[:2]
    first = send(client, "alice", alice, GERMAN, "10.00", key="k-ext-2")
    replay = send(client, "alice", alice, GERMAN, "10.00", key="k-ext-2")
    assert first.status_code == replay.status_code == 201 and first.get_json() == replay.get_json()
    assert balance(client, alice) == "88.50"


def test_the_database_keeps_the_state_machine(client, funded, owner_engines):
    alice, _ = funded
    sent = send(client, "alice", alice, GERMAN).get_json()
    with owner_engines["transactions"].connect() as connection:
        for statement in ("UPDATE external_transfers SET iban = 'DE02120300000000202051' WHERE entry_id = :id",
                          "UPDATE external_transfers SET status = 'returned', decided_at = now() WHERE entry_id = :id",
                          "DELETE FROM external_transfers WHERE entry_id = :id"):
            with pytest.raises(Exception):
                with connection.begin():
                    connection.execute(text(statement), {"id": sent["id"]})
