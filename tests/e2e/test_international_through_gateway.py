"""International money and the bank's books as clients and back-office see them: FX rates and
fees, a cross-currency transfer, external transfers settled and returned, an IBAN of this
bank, holds, the chart of accounts, journal entries, periods and the trial balance; every
call through the gateway to the real processes, every route in the merged OpenAPI."""
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.e2e.test_accounts_through_gateway import admin, deposit, gateway, key, new_customer, open_account, problem, verified_customer  # noqa: F401

pytestmark = pytest.mark.e2e

GERMAN = "DE89370400440532013000"



@pytest.fixture(scope="module")
def verified(gateway, admin):  # noqa: F811
    """A verified customer with 200.00 EUR in checking and an empty USD account, and a payee."""
    customer, caller = verified_customer(gateway, admin)
    eur, usd = open_account(caller), open_account(caller, currency="USD")
    deposit(admin, eur["id"], "200.00")
    _payee, payee_caller = new_customer(gateway)
    payee = open_account(payee_caller)
    return {"caller": caller, "eur": eur, "usd": usd, "payee": payee, "payee_caller": payee_caller}


def test_rates_fees_and_a_cross_currency_transfer(admin, verified):  # noqa: F811
    put = admin.call("PUT", "/api/v1/admin/fx-rates", json={"base": "EUR", "quote": "USD", "rate": "1.1000"})
    assert put.status_code == 201, put.text
    assert admin.call("PUT", "/api/v1/admin/fees", json={"kind": "fx", "percent": "0.50", "minimum": "0.10",
                                                         "currency": "EUR"}).status_code == 200
    caller = verified["caller"]
    rates = caller.call("GET", "/api/v1/fx/rates", params={"base": "EUR"}).json()
    assert rates["rates"]["USD"] == "1.1"
    history = caller.call("GET", "/api/v1/fx/rates/history", params={"base": "EUR", "quote": "USD"})
    assert history.status_code == 200 and history.json()["items"][0]["rate"] == "1.1"
    assert any(f["kind"] == "fx" for f in caller.call("GET", "/api/v1/fees").json()["items"])
    problem(admin.call("PUT", "/api/v1/admin/fx-rates", json={"base": "EUR", "quote": "USD", "rate": "0"}),
            422, "validation_error")

    sent = caller.call("POST", "/api/v1/transfers", headers=key(),
                       json={"from_account_id": verified["eur"]["id"], "to_account_id": verified["usd"]["id"],
                             "amount": "10.00", "currency": "EUR", "expected_fx_rate": "1.1000"})
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert (body["converted_amount"], body["converted_currency"], body["fee"]) == ("11.00", "USD", "0.10")
    changed = caller.call("POST", "/api/v1/transfers", headers=key(),
                          json={"from_account_id": verified["eur"]["id"], "to_account_id": verified["usd"]["id"],
                                "amount": "1.00", "currency": "EUR", "expected_fx_rate": "1.2"})
    problem(changed, 409, "fx_rate_changed")


def test_external_transfers_pending_then_settled_or_returned(admin, verified):  # noqa: F811
    caller, eur = verified["caller"], verified["eur"]

    def send(amount):
        response = caller.call("POST", "/api/v1/transfers", headers=key(),
                               json={"from_account_id": eur["id"], "to_iban": GERMAN, "amount": amount,
                                     "currency": "EUR", "beneficiary_name": "Erika Mustermann"})
        assert response.status_code == 201, response.text
        return response.json()

    before = caller.call("GET", f"/api/v1/accounts/{eur['id']}").json()["balance"]
    first, second = send("5.00"), send("7.00")
    assert (first["status"], first["external"], first["international"]) == ("pending", True, True)
    problem(caller.call("POST", f"/api/v1/admin/transfers/{first['id']}/settle"), 403, "forbidden")
    settled = admin.call("POST", f"/api/v1/admin/transfers/{first['id']}/settle")
    assert settled.status_code == 200 and settled.json()["status"] == "posted", settled.text
    returned = admin.call("POST", f"/api/v1/admin/transfers/{second['id']}/return", headers=key())
    assert returned.status_code == 200 and returned.json()["status"] == "returned", returned.text
    problem(admin.call("POST", f"/api/v1/admin/transfers/{second['id']}/settle"), 409, "invalid_state")
    assert caller.call("GET", f"/api/v1/transfers/{second['id']}").json()["status"] == "returned"
    after = caller.call("GET", f"/api/v1/accounts/{eur['id']}").json()["balance"]
    assert float(before) - float(after) == pytest.approx(5.00)  # only the settled one left (no fee set)
    lines = caller.call("GET", f"/api/v1/accounts/{eur['id']}/transactions").json()["items"]
    assert {line["transfer_id"] for line in lines} >= {first["id"], second["id"]}
    bad = caller.call("POST", "/api/v1/transfers", headers=key(),
                      json={"from_account_id": eur["id"], "to_iban": "DE89370400440532013001", "amount": "1.00",
                            "currency": "EUR", "beneficiary_name": "X"})
    assert "to_iban" in problem(bad, 422, "validation_error")["errors"]


def test_an_iban_of_this_bank_pays_that_account(verified):
    caller, payee = verified["caller"], verified["payee"]
    paid = caller.call("POST", "/api/v1/transfers", headers=key(),
                       json={"from_account_id": verified["eur"]["id"], "to_iban": payee["number"],
                             "beneficiary_name": "Grace", "amount": "2.00", "currency": "EUR"})
    assert paid.status_code == 201, paid.text
    assert (paid.json()["status"], paid.json()["to_account_id"]) == ("posted", payee["id"])
    assert verified["payee_caller"].call("GET", f"/api/v1/accounts/{payee['id']}").json()["balance"] == "2.00"


def test_holds_reduce_the_available_balance_and_capture_once(admin, verified):  # noqa: F811
    caller, eur = verified["caller"], verified["eur"]
    created = admin.call("POST", "/api/v1/holds", headers=key(),
                         json={"account_id": eur["id"], "amount": "3.00", "currency": "EUR",
                               "description": "Card", "merchant": "Coffee Shop",
                               "expires_at": (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()})
    assert created.status_code == 201, created.text
    hold = created.json()
    view = caller.call("GET", f"/api/v1/accounts/{eur['id']}").json()
    assert float(view["balance"]) - float(view["available_balance"]) == pytest.approx(3.00)
    assert caller.call("GET", f"/api/v1/holds/{hold['id']}").json()["status"] == "active"
    captured = admin.call("POST", f"/api/v1/holds/{hold['id']}/capture", json={"amount": "2.50"})
    assert captured.status_code == 201, captured.text
    problem(admin.call("POST", f"/api/v1/holds/{hold['id']}/capture", json={}), 409, "hold_not_active")
    assert [h["id"] for h in caller.call("GET", "/api/v1/holds").json()["items"]] == [hold["id"]]


def test_the_books_through_the_gateway(admin):  # noqa: F811
    chart = admin.call("GET", "/api/v1/admin/ledger/chart-of-accounts")
    assert chart.status_code == 200, chart.text
    codes = {a["code"] for a in chart.json()["items"]}
    assert {"2100", "2200", "4100"} <= codes
    entry = admin.call("POST", "/api/v1/admin/journal-entries", headers=key(),
                       json={"description": "Accrual", "effective_date": date.today().isoformat(),
                             "lines": [{"account_code": "5200-EUR", "debit": "12.00", "currency": "EUR"},
                                       {"account_code": "3100-EUR", "credit": "12.00", "currency": "EUR"}]})
    assert entry.status_code == 201, entry.text
    posted = admin.call("POST", f"/api/v1/admin/journal-entries/{entry.json()['id']}/post")
    assert posted.status_code == 200 and posted.json()["status"] == "posted", posted.text
    problem(admin.call("POST", f"/api/v1/admin/journal-entries/{entry.json()['id']}/void"), 409, "invalid_state")
    unbalanced = admin.call("POST", "/api/v1/admin/journal-entries", headers=key(),
                            json={"description": "x", "effective_date": date.today().isoformat(),
                                  "lines": [{"account_code": "5200-EUR", "debit": "1.00", "currency": "EUR"},
                                            {"account_code": "3100-EUR", "credit": "2.00", "currency": "EUR"}]})
    problem(unbalanced, 422, "unbalanced_entry")
    trial = admin.call("GET", "/api/v1/admin/reports/trial-balance").json()
    assert all(t["debit"] == t["credit"] for t in trial["totals"].values())
    start = date(2001, 1, 1) + timedelta(days=31 * (uuid.uuid4().int % 200))
    period = admin.call("POST", "/api/v1/admin/fiscal-periods",
                        json={"name": f"P-{start}", "start_date": start.isoformat(),
                              "end_date": (start + timedelta(days=27)).isoformat()})
    assert period.status_code == 201, period.text
    closed = admin.call("POST", f"/api/v1/admin/fiscal-periods/{period.json()['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    inside = admin.call("POST", "/api/v1/admin/journal-entries", headers=key(),
                        json={"description": "late", "effective_date": (start + timedelta(days=3)).isoformat(),
                              "lines": [{"account_code": "5200-EUR", "debit": "1.00", "currency": "EUR"},
                                        {"account_code": "3100-EUR", "credit": "1.00", "currency": "EUR"}]})
    problem(inside, 409, "period_closed")


def test_every_international_and_books_route_is_in_the_merged_openapi(gateway):  # noqa: F811
    import requests
    paths = set(requests.get(gateway + "/api/v1/openapi.json", timeout=10).json()["paths"])
    assert {"/api/v1/admin/fx-rates", "/api/v1/fx/rates", "/api/v1/fx/rates/history", "/api/v1/admin/fees",
            "/api/v1/fees", "/api/v1/admin/transfers/{transfer_id}/settle",
            "/api/v1/admin/transfers/{transfer_id}/return", "/api/v1/holds", "/api/v1/holds/{hold_id}",
            "/api/v1/holds/{hold_id}/capture", "/api/v1/holds/{hold_id}/release",
            "/api/v1/admin/ledger/chart-of-accounts", "/api/v1/admin/journal-entries",
            "/api/v1/admin/journal-entries/{entry_id}/post", "/api/v1/admin/journal-entries/{entry_id}/void",
            "/api/v1/admin/reports/trial-balance", "/api/v1/admin/fiscal-periods",
            "/api/v1/admin/fiscal-periods/{period_id}/close"} <= paths, sorted(paths)
