"""Risk as a customer, an admin and ops see it through the gateway: a transfer flagged
(posted, the customer told), held for review (202, the money on hold) and approved or
rejected by an admin, refused by a reject rule (422 with its rules); each outcome reaches
the customer's inbox as suspicious_activity; the data-quality report compares the ledger
with the running accounts service and catches a ledger account it does not know."""
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from services.common.sql import sqlalchemy_url
from tests.e2e.test_accounts_through_gateway import admin, deposit, gateway, key, new_customer, open_account, problem, verified_customer  # noqa: F401
from tests.e2e.test_workflows_through_gateway import until_known

pytestmark = pytest.mark.e2e


def notice_saying(caller, text_: str, timeout: float = 30) -> dict:
    """The suspicious_activity notification whose message says `text_` (several arrive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for notice in caller.call("GET", "/api/v1/notifications?limit=100").json()["items"]:
            if notice["kind"] == "suspicious_activity" and text_ in notice["message"]:
                return notice
        time.sleep(0.3)
    raise AssertionError(f"no suspicious_activity saying {text_!r} within {timeout} s")



@pytest.fixture(scope="module")
def sender(gateway, admin):  # noqa: F811
    customer, caller = verified_customer(gateway, admin)
    source = open_account(caller)
    deposit(admin, source["id"], "40000.00")
    _, payee_caller = new_customer(gateway)
    return {"caller": caller, "source": source["id"], "payee": open_account(payee_caller)["id"]}


def send(sender, amount, **headers):
    return until_known(lambda: sender["caller"].call("POST", "/api/v1/transfers", headers={**key(), **headers}, json={
        "from_account_id": sender["source"], "to_account_id": sender["payee"], "amount": amount, "currency": "EUR"}))


@pytest.fixture
def large_amount_rejects(admin):  # noqa: F811
    changed = admin.call("PUT", "/api/v1/admin/risk-rules/large_amount", json={"action": "reject"})
    assert changed.status_code == 200, changed.text
    yield
    assert admin.call("PUT", "/api/v1/admin/risk-rules/large_amount", json={"action": "review"}).status_code == 200


def test_a_duplicate_is_flagged_posted_and_told(sender):
    assert send(sender, "3.21").status_code == 201
    again = send(sender, "3.21")
    assert again.status_code == 201 and again.json()["risk"] == {"outcome": "flag", "rules": ["duplicate_transfer"]}
    notice_saying(sender["caller"], "was flagged (duplicate_transfer)")


def test_a_large_transfer_waits_for_review_and_posts_once_approved(sender, admin):  # noqa: F811
    held = send(sender, "12000.00")
    assert held.status_code == 202, held.text
    body = held.json()
    assert body["status"] == "pending_review" and "large_amount" in body["risk"]["rules"]
    account = sender["caller"].call("GET", f"/api/v1/accounts/{sender['source']}").json()
    assert account["available_balance"] != account["balance"]          # the amount is on hold
    queue = admin.call("GET", "/api/v1/admin/reviews?status=open&limit=500").json()["items"]
    review = next(item for item in queue if item["transfer_id"] == body["id"])
    problem(sender["caller"].call("POST", f"/api/v1/admin/reviews/{review['id']}/approve"), 403, "forbidden")
    approved = admin.call("POST", f"/api/v1/admin/reviews/{review['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    problem(admin.call("POST", f"/api/v1/admin/reviews/{review['id']}/approve"), 409, "invalid_state")
    shown = sender["caller"].call("GET", f"/api/v1/transfers/{body['id']}").json()
    assert (shown["status"], shown["amount"]) == ("posted", "12000.00")
    notice_saying(sender["caller"], "12000.00 EUR is held for review")


def test_a_rejected_review_frees_the_money(sender, admin):  # noqa: F811
    held = send(sender, "11000.00").json()
    review = next(item for item in admin.call("GET", "/api/v1/admin/reviews?status=open&limit=500").json()["items"]
                  if item["transfer_id"] == held["id"])
    rejected = admin.call("POST", f"/api/v1/admin/reviews/{review['id']}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    account = sender["caller"].call("GET", f"/api/v1/accounts/{sender['source']}").json()
    assert account["available_balance"] == account["balance"]
    assert sender["caller"].call("GET", f"/api/v1/transfers/{held['id']}").json()["status"] == "rejected"


def test_a_reject_rule_refuses_with_its_rules_and_tells_the_customer(sender, large_amount_rejects):
    refused = problem(send(sender, "15000.00"), 422, "transfer_rejected")
    assert "large_amount" in refused["rules"]
    notice_saying(sender["caller"], "15000.00 EUR was refused by our security checks")


def test_bad_rule_changes_through_the_gateway(admin, sender):  # noqa: F811
    problem(admin.call("PUT", "/api/v1/admin/risk-rules/nope", json={"enabled": True}), 404, "not_found")
    problem(admin.call("PUT", "/api/v1/admin/risk-rules/velocity_count",
                       json={"params": {"count": -3, "window_seconds": 60}}), 422, "validation_error")
    problem(sender["caller"].call("GET", "/api/v1/admin/risk-rules"), 403, "forbidden")


def test_the_data_quality_report_compares_with_the_accounts_service(admin, suite_databases):  # noqa: F811
    engine = create_engine(sqlalchemy_url(suite_databases["transactions"].app_url))
    orphan = f"acc-e2e-orphan-{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:   # a ledger account the accounts service never opened
        connection.execute(text("INSERT INTO ledger_accounts (id, customer_id, kind, currency) "
                                "VALUES (:id, 'nobody', 'customer', 'EUR')"), {"id": orphan})
    engine.dispose()
    response = admin.call("GET", "/api/v1/admin/data-quality?run=now")
    assert response.status_code == 200, response.text
    checks = {check["name"]: check for check in response.json()["checks"]}
    assert {check["dimension"] for check in checks.values()} == {
        "accuracy", "completeness", "consistency", "validity", "uniqueness", "timeliness"}
    assert "accounts_compared" not in checks                            # the accounts service answered
    unknown = checks["account_unknown_to_accounts_service"]
    assert unknown["status"] == "fail" and unknown["count"] >= 1
    assert checks["balance_differs_from_postings"]["status"] == "pass"
    shown = admin.call("GET", "/api/v1/admin/data-quality").json()
    assert shown["generated_at"] == response.json()["generated_at"] and shown["age_seconds"] >= 0
