"""Automated workflows as a customer and ops see them: a standing order created through the
gateway, run by `python -m services.transactions.cli run-due` (the CronJob's command) against
the running suite's ledger, its runs and their money; a failed run recorded with its code."""
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from devstack.stack import ROOT
from tests.e2e.test_accounts_through_gateway import admin, deposit, gateway, key, new_customer, open_account, problem, verified_customer  # noqa: F401

pytestmark = pytest.mark.e2e



def utc_today():
    """Read when a test starts, not at import: a run may cross midnight (UTC)."""
    return datetime.now(timezone.utc).date()



def run_due(suite_databases, day) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": suite_databases["transactions"].app_url,
                   "INTERNAL_TOKEN_SECRET": "e2e-runner-secret-that-is-long-enough-0123456789"}
    result = subprocess.run([sys.executable, "-m", "services.transactions.cli", "run-due", "--date", day.isoformat()],
                            env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def payer(gateway, admin):  # noqa: F811
    customer, caller = verified_customer(gateway, admin)
    source = open_account(caller)
    deposit(admin, source["id"], "100.00")
    _, payee_caller = new_customer(gateway)
    return {"caller": caller, "source": source, "payee": open_account(payee_caller), "payee_caller": payee_caller}


def test_a_standing_order_runs_once_per_date_through_the_runner(payer, suite_databases):
    TODAY = utc_today()
    caller = payer["caller"]
    created = until_known(lambda: caller.call("POST", "/api/v1/scheduled-transfers", json={
        "from_account_id": payer["source"]["id"], "to_account_id": payer["payee"]["id"], "amount": "30.00",
        "currency": "EUR", "description": "rent", "schedule": {"frequency": "daily", "start_date": TODAY.isoformat()}}))
    assert created.status_code == 201, created.text
    schedule = created.json()
    day = TODAY + timedelta(days=3)  # four dates: three post, the fourth finds 10.00 left
    assert "runs_posted=3" in run_due(suite_databases, day)
    assert "runs_posted=0" in run_due(suite_databases, day)  # the CronJob again: nothing moves twice
    runs = caller.call("GET", f"/api/v1/scheduled-transfers/{schedule['id']}/runs").json()["items"]
    assert [r["status"] for r in runs] == ["failed", "posted", "posted", "posted"]
    assert runs[0]["error_code"] == "insufficient_funds"
    account = caller.call("GET", f"/api/v1/accounts/{payer['source']['id']}").json()
    assert account["balance"] == "10.00"
    shown = caller.call("GET", f"/api/v1/scheduled-transfers/{schedule['id']}").json()
    assert shown["next_run_date"] == (day + timedelta(days=1)).isoformat()
    cancelled = caller.call("DELETE", f"/api/v1/scheduled-transfers/{schedule['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # The failed run reaches the customer's inbox through the ledger's outbox and preferences.
    notice = wait_for_notification(caller, "scheduled_transfer_failed")
    assert "insufficient_funds" in notice["message"] and notice["data"]["schedule_id"] == schedule["id"]


def until_known(call, timeout: float = 20):
    """A payee's account reaches the ledger by its account.opened event: until then a call
    naming it is 404 (not stored under an Idempotency-Key), so it is sent again."""
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def wait_for_notification(caller, kind: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [n for n in caller.call("GET", "/api/v1/notifications").json()["items"] if n["kind"] == kind]
        if found:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no {kind} notification within {timeout} s")


def test_bills_paid_now_and_by_autopay_with_a_reminder(payer, admin, suite_databases):  # noqa: F811
    TODAY = utc_today()
    caller = payer["caller"]
    deposit(admin, payer["source"]["id"], "100.00")
    body = {"biller_name": "Power Co", "biller_iban": "DE89370400440532013000", "amount_due": "12.50",
            "currency": "EUR", "pay_from_account_id": payer["source"]["id"]}
    now = caller.call("POST", "/api/v1/bills", json={**body, "due_date": (TODAY + timedelta(days=20)).isoformat()})
    assert now.status_code == 201, now.text
    paid = caller.call("POST", f"/api/v1/bills/{now.json()['id']}/pay", headers=key())
    assert paid.status_code == 201 and paid.json()["status"] == "pending", paid.text
    problem(caller.call("POST", f"/api/v1/bills/{now.json()['id']}/pay", headers=key()), 409, "bill_already_paid")
    due = TODAY + timedelta(days=2)
    auto = caller.call("POST", "/api/v1/bills", json={**body, "due_date": due.isoformat(), "autopay": True,
                                                      "reminder_days_before": 2}).json()
    assert "bill_reminders=1" in run_due(suite_databases, TODAY)
    wait_for_notification(caller, "bill_due")
    assert "bills_paid=1" in run_due(suite_databases, due)
    shown = caller.call("GET", f"/api/v1/bills/{auto['id']}").json()
    assert shown["status"] == "paid" and shown["paid_transfer_id"]
    problem(caller.call("POST", "/api/v1/bills", json={**body, "due_date": "not-a-date"}), 422, "validation_error")


def test_card_spending_earns_points_that_redeem_into_cash(gateway, admin):  # noqa: F811
    customer, caller = verified_customer(gateway, admin)
    card = open_account(caller, type="credit_card")
    checking = open_account(caller)
    limit = admin.call("PATCH", f"/api/v1/admin/accounts/{card['id']}", json={"overdraft_limit": "500.00"})
    assert limit.status_code == 200, limit.text
    _, shop_caller = new_customer(gateway)
    shop = open_account(shop_caller)
    spend = key()
    spent = until_known(lambda: caller.call("POST", "/api/v1/transfers", headers=spend, json={
        "from_account_id": card["id"], "to_account_id": shop["id"], "amount": "150.75", "currency": "EUR"}))
    assert spent.status_code == 201, spent.text
    rewards = caller.call("GET", "/api/v1/rewards").json()
    assert rewards["points_balance"] == 150 and rewards["items"][0]["reason"] == "card_spending"
    redeemed = caller.call("POST", "/api/v1/rewards/redeem", headers=key(),
                           json={"points": 100, "to_account_id": checking["id"]})
    assert redeemed.status_code == 201 and redeemed.json()["amount"] == "1.00", redeemed.text
    problem(caller.call("POST", "/api/v1/rewards/redeem", headers=key(),
                        json={"points": 51, "to_account_id": checking["id"]}), 422, "insufficient_points")
    assert caller.call("GET", f"/api/v1/accounts/{checking['id']}").json()["balance"] == "1.00"


def test_bad_schedules_and_other_customers(payer, gateway):  # noqa: F811
    TODAY = utc_today()
    caller = payer["caller"]
    body = {"from_account_id": payer["source"]["id"], "to_account_id": payer["payee"]["id"], "amount": "1.00",
            "currency": "EUR", "schedule": {"frequency": "fortnightly", "start_date": TODAY.isoformat()}}
    problem(caller.call("POST", "/api/v1/scheduled-transfers", json=body), 422, "validation_error")
    body["schedule"] = {"frequency": "monthly", "start_date": TODAY.isoformat(), "day_of_month": 32}
    problem(caller.call("POST", "/api/v1/scheduled-transfers", json=body), 422, "validation_error")
    body["schedule"] = {"frequency": "weekly", "start_date": TODAY.isoformat(),
                        "end_date": (TODAY - timedelta(days=1)).isoformat()}
    problem(caller.call("POST", "/api/v1/scheduled-transfers", json=body), 422, "validation_error")
    body["schedule"] = {"frequency": "weekly", "start_date": TODAY.isoformat()}
    mine = caller.call("POST", "/api/v1/scheduled-transfers", json=body).json()
    _, stranger = new_customer(gateway)
    problem(stranger.call("GET", f"/api/v1/scheduled-transfers/{mine['id']}"), 404, "not_found")
    problem(stranger.call("PATCH", f"/api/v1/scheduled-transfers/{mine['id']}", json={"status": "paused"}),
            404, "not_found")
    problem(stranger.call("POST", "/api/v1/scheduled-transfers", json=body), 404, "not_found")


def test_the_routes_are_in_the_merged_openapi(gateway):  # noqa: F811
    import requests
    paths = requests.get(f"{gateway}/api/v1/openapi.json", timeout=10).json()["paths"]
    for path in ("/api/v1/scheduled-transfers", "/api/v1/scheduled-transfers/{schedule_id}",
                 "/api/v1/scheduled-transfers/{schedule_id}/runs", "/api/v1/bills", "/api/v1/bills/{bill_id}",
                 "/api/v1/bills/{bill_id}/pay", "/api/v1/rewards", "/api/v1/rewards/redeem"):
        assert path in paths, path
