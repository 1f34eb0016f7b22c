"""The chart of accounts and the trial balance: every ledger account rolls up to a chart
account, customer accounts under the liability control account, and per currency the trial
balance's debits equal its credits, ledger postings and posted manual entries together."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.transactions.tests.books_support import (admin, customer, chart, created_entry, line,
                                                       entry_body, post, rent, trial_balance)
from services.transactions.tests.factories import deposit, open_account, transfer


@pytest.fixture
def funded(client):
    """Alice 100.00 EUR (20.00 of it sent to Bob) and 5000 JPY, all from the settlement accounts."""
    alice, bob = open_account(client, "alice"), open_account(client, "bob")
    yen = open_account(client, "alice", currency="JPY")
    deposit(client, alice, "100.00")
    deposit(client, yen, "5000", "JPY")
    assert transfer(client, "alice", alice, bob, "20.00").status_code == 201
    return {"alice": alice, "bob": bob, "yen": yen}


def test_the_chart_has_five_types_a_hierarchy_and_the_banks_accounts(client):
    accounts = chart(client)
    assert {a["type"] for a in accounts.values()} == {"asset", "liability", "equity", "revenue", "expense"}
    for code, account in accounts.items():
        if account["parent_code"] is not None:
            assert accounts[account["parent_code"]]["type"] == account["type"], code
    assert accounts["2100"]["type"] == "liability" and accounts["2100"]["parent_code"] == "2000"
    kinds = {(a["ledger_kind"], a["currency"]): code for code, a in accounts.items() if a["ledger_kind"]}
    for currency in ("EUR", "USD", "JPY", "BHD"):
        assert kinds[("settlement", currency)] == f"1100-{currency}"
        assert kinds[("fx_clearing", currency)] == f"1300-{currency}"
        assert kinds[("fees", currency)] == f"4100-{currency}"
        assert kinds[("customer", currency)] == f"2100-{currency}"
    assert accounts["2100-EUR"]["postable"] is False and accounts["5200-EUR"]["postable"] is True
    assert accounts["1000"]["currency"] is None and accounts["1000"]["balance"] is None


def test_chart_balances_come_from_the_ledger(client, funded):
    accounts = chart(client)
    # Customer deposits: the sum of the customer accounts (a liability, credit normal).
    assert accounts["2100-EUR"]["balance"] == "100.00"
    assert accounts["2100-JPY"]["balance"] == "5000"
    # The settlement account paid the deposits out: the bank holds that money (an asset).
    assert accounts["1100-EUR"]["balance"] == "100.00"
    assert accounts["2000"]["balances"]["EUR"] == "100.00" and accounts["1000"]["balances"]["JPY"] == "5000"


def test_a_new_currency_gets_its_leaves(client):
    account = open_account(client, "alice", currency="NOK")
    deposit(client, account, "12.50", "NOK")
    accounts = chart(client)
    assert accounts["2100-NOK"]["balance"] == "12.50" and accounts["1100-NOK"]["balance"] == "12.50"
    assert accounts["5200-NOK"]["parent_code"] == "5200"


def test_the_trial_balance_balances_per_currency(client, funded):
    report = trial_balance(client)
    rows = {row["code"]: row for row in report["accounts"]}
    assert rows["1100-EUR"] == {"code": "1100-EUR", "name": "Settlement accounts EUR", "type": "asset",
                              "currency": "EUR", "debit": "100.00", "credit": "0.00"}
    assert (rows["2100-EUR"]["debit"], rows["2100-EUR"]["credit"]) == ("0.00", "100.00")
    assert (rows["1100-JPY"]["debit"], rows["2100-JPY"]["credit"]) == ("5000", "5000")
    assert report["totals"] == {"EUR": {"debit": "100.00", "credit": "100.00"},
                                "JPY": {"debit": "5000", "credit": "5000"}}


def test_the_trial_balance_at_a_past_moment_leaves_later_postings_out(client, funded):
    before = datetime.now(timezone.utc)
    deposit(client, funded["alice"], "0.50")
    now = trial_balance(client)["totals"]["EUR"]
    then = trial_balance(client, before.isoformat().replace("+00:00", "Z"))["totals"]["EUR"]
    assert now == {"debit": "100.50", "credit": "100.50"} and then == {"debit": "100.00", "credit": "100.00"}
    long_ago = trial_balance(client, "2000-01-01T00:00:00Z")
    assert long_ago["accounts"] == [] and long_ago["totals"] == {}


def test_posted_manual_entries_count_drafts_and_voided_ones_do_not(client, funded):
    posted = created_entry(client, rent("10.00"))
    assert post(client, posted["id"]).status_code == 200
    created_entry(client, rent("7.00"))  # a draft
    voided = created_entry(client, rent("3.00"))
    assert post(client, voided["id"], "void").status_code == 200
    report = trial_balance(client)
    rows = {row["code"]: row for row in report["accounts"]}
    assert rows["5200-EUR"]["debit"] == "10.00" and rows["1100-EUR"]["debit"] == "90.00"
    assert report["totals"]["EUR"] == {"debit": "100.00", "credit": "100.00"}
    accounts = chart(client)
    assert accounts["5200-EUR"]["balance"] == "10.00" and accounts["1100-EUR"]["balance"] == "90.00"
    assert accounts["5000"]["balances"]["EUR"] == "10.00"
    # A trial balance dated before the entry's effective date leaves it out.
    earlier = {row["code"]: row for row in trial_balance(client, "2026-11-29T23:59:59Z")["accounts"]}
    assert "5200-EUR" not in earlier


def test_a_multi_currency_entry_balances_per_currency(client):
    body = entry_body(line("3100-EUR", credit="1000.00"), line("1100-EUR", debit="1000.00"),
                      line("3100-JPY", credit="50000"), line("1100-JPY", debit="50000"),
                      description="Share capital paid in")
    assert post(client, created_entry(client, body)["id"]).status_code == 200
    report = trial_balance(client)
    assert report["totals"] == {"EUR": {"debit": "1000.00", "credit": "1000.00"},
                                "JPY": {"debit": "50000", "credit": "50000"}}


@pytest.mark.parametrize("path", ["/api/v1/admin/ledger/chart-of-accounts", "/api/v1/admin/reports/trial-balance",
                                  "/api/v1/admin/journal-entries", "/api/v1/admin/fiscal-periods"])
def test_customers_cannot_read_the_books(client, path):
    response = client.get(path, headers=customer())
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize("at", ["yesterday", "2026-01-01", "2026-01-01T00:00:00", "99999-01-01T00:00:00Z",
                                "2026-01-01T25:00:00Z", "2026-01-01T00:00:00Z%00", "9999-12-31T23:00:00-12:00",
                                "0001-01-01T00:00:00%2B14:00"])
def test_a_bad_at_is_422(client, at):
    response = client.get(f"/api/v1/admin/reports/trial-balance?at={at}", headers=admin())
    assert response.status_code == 422, response.get_data(as_text=True)


def test_the_chart_is_fixed_in_the_database(client, owner_engines):
    chart(client)
    for statement, message in (("UPDATE chart_accounts SET type = 'expense' WHERE code = '1100-EUR'",
                                "only the name"),
                               ("DELETE FROM chart_accounts WHERE code = '5200-EUR'", "never deleted"),
                               ("INSERT INTO chart_accounts (code, name, type, parent_code, currency) "
                                "VALUES ('5200-XTS', 'x', 'asset', '5200', 'XTS')", "type of its parent")):
        with pytest.raises(DBAPIError, match=message):
            with owner_engines["transactions"].begin() as connection:
                connection.execute(text(statement))
    with owner_engines["transactions"].begin() as connection:
        connection.execute(text("UPDATE chart_accounts SET name = 'Rent and other costs' WHERE code = '5200'"))
    assert chart(client)["5200"]["name"] == "Rent and other costs"


def test_future_dated_entries_are_in_a_later_trial_balance(client):
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    entry = created_entry(client, rent("4.00", effective_date=tomorrow))
    assert post(client, entry["id"]).status_code == 200
    assert "5200-EUR" not in {row["code"] for row in trial_balance(client)["accounts"]}
    later = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    assert {row["code"] for row in trial_balance(client, later.replace("+00:00", "Z"))["accounts"]} >= {"5200-EUR"}
