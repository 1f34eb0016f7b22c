"""Cross-currency transfers: converted at the rate in force through the bank's FX clearing
accounts, the fx fee on top to fee income, one entry balanced per currency; expected rates,
missing rates, funds that must cover the fee, replays, reversals, statements, the ledger check."""
import uuid

import pytest
from sqlalchemy import text

from services.transactions.tests.books_support import admin
from services.transactions.tests.factories import (admin_headers, balance, customer_headers, deposit,
                                                   open_account, transfer)
from services.transactions.tests.test_ledger_check import check_now, checks_failed, tamper


def put_rate(client, base, quote, rate):
    response = client.put("/api/v1/admin/fx-rates", json={"base": base, "quote": quote, "rate": rate},
                          headers=admin())
    assert response.status_code == 201, response.get_data(as_text=True)


def put_fee(client, kind, percent, minimum, currency):
    response = client.put("/api/v1/admin/fees", headers=admin(),
                          json={"kind": kind, "percent": percent, "minimum": minimum, "currency": currency})
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.fixture
def fx(client, funded):
    """Alice: 100.00 EUR and an empty USD account; Bob: an empty JPY account. EUR/USD 1.0842,
    EUR/JPY 150.5; the fx fee is 0.5 % with a minimum of 0.50 EUR."""
    alice, _ = funded
    usd = open_account(client, "alice", currency="USD")
    jpy = open_account(client, "bob", currency="JPY")
    put_rate(client, "EUR", "USD", "1.0842")
    put_rate(client, "EUR", "JPY", "150.5")
    put_fee(client, "fx", "0.50", "0.50", "EUR")
    return {"eur": alice, "usd": usd, "jpy": jpy}


def postings_of(owner_engines, entry_id):
    with owner_engines["transactions"].connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT p.account_id, p.amount, p.currency, a.kind FROM postings p "
            "JOIN ledger_accounts a ON a.id = p.account_id WHERE p.entry_id = :id ORDER BY p.id"),
            {"id": entry_id})]


def test_a_cross_currency_transfer_converts_through_fx_clearing_and_charges_the_fee(
        client, fx, owner_engines):
    response = transfer(client, "alice", fx["eur"], fx["usd"], "50.00", description="To my dollars")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["amount"], body["currency"], body["fx_rate"], body["converted_amount"],
            body["converted_currency"], body["fee"], body["status"]) == (
        "50.00", "EUR", "1.0842", "54.21", "USD", "0.50", "posted")  # 0.5 % is 0.25: the minimum
    assert balance(client, fx["eur"]) == "49.50" and balance(client, fx["usd"]) == "54.21"
    assert postings_of(owner_engines, body["id"]) == [
        (fx["eur"], -5050, "EUR", "customer"),
        ("internal:fx_clearing:EUR", 5000, "EUR", "fx_clearing"),
        ("internal:fees:EUR", 50, "EUR", "fees"),
        ("internal:fx_clearing:USD", -5421, "USD", "fx_clearing"),
        (fx["usd"], 5421, "USD", "customer")]
    read = client.get(f"/api/v1/transfers/{body['id']}", headers=customer_headers("alice")).get_json()
    assert {k: read[k] for k in ("fx_rate", "converted_amount", "converted_currency", "fee")} == {
        "fx_rate": "1.0842", "converted_amount": "54.21", "converted_currency": "USD", "fee": "0.50"}
    # The target's statement line is in its own currency.
    lines = client.get(f"/api/v1/accounts/{fx['usd']}/transactions",
                       headers=customer_headers("alice")).get_json()["items"]
    assert [(l["amount"], l["currency"], l["balance_after"]) for l in lines] == [("54.21", "USD", "54.21")]
    source_lines = client.get(f"/api/v1/accounts/{fx['eur']}/transactions",
                              headers=customer_headers("alice")).get_json()["items"]
    assert (source_lines[0]["amount"], source_lines[0]["currency"]) == ("-50.50", "EUR")
    report = check_now(client)
    assert report["ok"], report["violations"]


def test_a_same_currency_transfer_shows_no_fee_and_no_conversion(client, funded):
    alice, bob = funded
    body = transfer(client, "alice", alice, bob, "1.00").get_json()
    assert body["fee"] == "0.00" and "fx_rate" not in body and "converted_amount" not in body


def test_conversion_rounds_half_even_to_the_targets_minor_units(client, fx, owner_engines):
    # 1.00 EUR at 150.5 is 150.5 JPY: half-even to 150 (JPY has no minor units).
    response = transfer(client, "alice", fx["eur"], fx["jpy"], "1.00")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert (response.get_json()["converted_amount"], response.get_json()["converted_currency"]) == ("150", "JPY")
    assert balance(client, fx["jpy"]) == "150"


def test_the_expected_rate_must_be_the_rate_in_force(client, fx, ledger_counts):
    before = ledger_counts()
    changed = transfer(client, "alice", fx["eur"], fx["usd"], "10.00", expected_fx_rate="1.08")
    assert changed.status_code == 409 and changed.get_json()["code"] == "fx_rate_changed"
    assert changed.get_json()["fx_rate"] == "1.0842"
    assert ledger_counts()[:3] == before[:3]
    bad = transfer(client, "alice", fx["eur"], fx["usd"], "10.00", expected_fx_rate="1,08")
    assert bad.status_code == 422 and "expected_fx_rate" in bad.get_json()["errors"]
    ok = transfer(client, "alice", fx["eur"], fx["usd"], "10.00", expected_fx_rate="1.084200")
    assert ok.status_code == 201 and ok.get_json()["converted_amount"] == "10.84"


def test_no_rate_in_force_is_422_and_moves_nothing(client, funded, ledger_counts):
    alice, _ = funded
    chf = open_account(client, "alice", currency="CHF")
    before = ledger_counts()
    response = transfer(client, "alice", alice, chf, "1.00")
    assert response.status_code == 422 and response.get_json()["code"] == "fx_rate_unavailable"
    assert ledger_counts()[:3] == before[:3]


def test_the_request_currency_is_the_sources(client, fx):
    response = transfer(client, "alice", fx["eur"], fx["usd"], "1.00", currency="USD")
    assert response.status_code == 422 and response.get_json()["code"] == "currency_mismatch"


def test_funds_must_cover_amount_and_fee(client, fx, ledger_counts):
    before = ledger_counts()
    short = transfer(client, "alice", fx["eur"], fx["usd"], "99.60")   # + 0.50 fee = 100.10
    assert short.status_code == 422 and short.get_json()["code"] == "insufficient_funds"
    assert ledger_counts()[:3] == before[:3]
    exact = transfer(client, "alice", fx["eur"], fx["usd"], "99.50")   # fee 0.50 (0.4975 < minimum)
    assert exact.status_code == 201, exact.get_data(as_text=True)
    assert balance(client, fx["eur"]) == "0.00"


def test_a_replay_answers_the_first_response_and_posts_once(client, fx, ledger_counts):
    key = uuid.uuid4().hex
    first = transfer(client, "alice", fx["eur"], fx["usd"], "10.00", key=key)
    after_first = ledger_counts()
    again = transfer(client, "alice", fx["eur"], fx["usd"], "10.00", key=key)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ledger_counts() == after_first
    # A refusal for a changed rate is stored and replayed like any business refusal.
    refused_key = uuid.uuid4().hex
    refused = transfer(client, "alice", fx["eur"], fx["usd"], "10.00", key=refused_key, expected_fx_rate="2")
    put_rate(client, "EUR", "USD", "2")
    replayed = transfer(client, "alice", fx["eur"], fx["usd"], "10.00", key=refused_key, expected_fx_rate="2")
    assert (replayed.status_code, replayed.get_json()) == (409, refused.get_json())


def test_a_refund_reverses_every_posting_fee_included(client, fx, owner_engines):
    bob_jpy = fx["jpy"]
    sent = transfer(client, "alice", fx["eur"], bob_jpy, "20.00").get_json()   # 3010 JPY, fee 0.50 EUR
    refund = client.post(f"/api/v1/transfers/{sent['id']}/reverse", json={}, headers=customer_headers("bob"))
    assert refund.status_code == 201, refund.get_data(as_text=True)
    body = refund.get_json()
    assert (body["from_account_id"], body["to_account_id"], body["amount"], body["currency"],
            body["converted_amount"], body["converted_currency"]) == (bob_jpy, fx["eur"], "3010", "JPY",
                                                                      "20.50", "EUR")
    assert balance(client, fx["eur"]) == "100.00" and balance(client, bob_jpy) == "0"
    assert sorted(postings_of(owner_engines, body["id"])) == sorted(
        (account, -amount, currency, kind) for account, amount, currency, kind in
        postings_of(owner_engines, sent["id"]))
    again = client.post(f"/api/v1/transfers/{sent['id']}/reverse", json={}, headers=admin_headers())
    assert again.status_code == 409 and again.get_json()["code"] == "already_reversed"
    assert check_now(client)["ok"]


def test_the_header_check_stays_strict(client, fx, owner_engines):
    """A fee leg the header does not declare, or a converted amount it misstates, is caught."""
    sent = transfer(client, "alice", fx["eur"], fx["usd"], "10.00").get_json()
    assert check_now(client)["ok"]
    tamper(owner_engines["transactions"], "UPDATE journal_entries SET fee = 0 WHERE id = :id", id=sent["id"])
    assert "entry_header_differs" in checks_failed(check_now(client))
    tamper(owner_engines["transactions"], "UPDATE journal_entries SET fee = 50, to_amount = 1085 WHERE id = :id",
           id=sent["id"])
    assert "entry_header_differs" in checks_failed(check_now(client))
    tamper(owner_engines["transactions"], "UPDATE journal_entries SET to_amount = 1084 WHERE id = :id",
           id=sent["id"])
    assert check_now(client)["ok"]


def test_a_fee_that_is_not_in_fee_income_is_caught(client, fx, owner_engines):
    sent = transfer(client, "alice", fx["eur"], fx["usd"], "10.00").get_json()
    tamper(owner_engines["transactions"],
           "UPDATE postings SET account_id = 'internal:fx_clearing:EUR' "
           "WHERE entry_id = :id AND account_id = 'internal:fees:EUR'", id=sent["id"])
    assert "fee_not_in_fee_income" in checks_failed(check_now(client))


def test_deposits_still_fund_in_one_currency(client, fx):
    assert deposit(client, fx["usd"], "5.00", currency="USD")["fee"] == "0.00"
