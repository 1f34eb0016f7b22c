"""Money management as a customer sees it through the gateway: a rule categorises new lines,
a line is re-categorised, a budget crossed raises `budget_exceeded` in the inbox once,
insights leave out own-account moves, the balance history matches the statement's running
balance; every route is in the merged OpenAPI."""
from datetime import datetime, timezone

import pytest
import requests

from tests.e2e.test_accounts_through_gateway import admin, deposit, gateway, key, new_customer, open_account, problem, verified_customer  # noqa: F401
from tests.e2e.test_workflows_through_gateway import until_known, wait_for_notification

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def spender(gateway, admin):  # noqa: F811
    customer, caller = verified_customer(gateway, admin)
    source, savings = open_account(caller), open_account(caller)
    deposit(admin, source["id"], "500.00")
    _, payee_caller = new_customer(gateway)
    return {"caller": caller, "source": source["id"], "savings": savings["id"], "payee": open_account(payee_caller)["id"]}


def pay(spender, amount, target=None, **extra):
    body = {"from_account_id": spender["source"], "to_account_id": target or spender["payee"], "amount": amount,
            "currency": "EUR", **extra}
    response = until_known(lambda: spender["caller"].call("POST", "/api/v1/transfers",
                                                          headers=key(), json=body))
    assert response.status_code == 201, response.text
    return response.json()


def test_rules_budgets_insights_and_the_inbox(spender):
    caller, month = spender["caller"], datetime.now(timezone.utc).strftime("%Y-%m")
    created = caller.call("POST", "/api/v1/category-rules",
                          json={"category": "groceries", "merchant_pattern": "(?i)^green ?grocer", "priority": 10})
    assert created.status_code == 201, created.text
    problem(caller.call("POST", "/api/v1/category-rules", json={"category": "groceries", "merchant_pattern": "(("}),
            422, "validation_error")
    budget = caller.call("POST", "/api/v1/budgets", json={"month": month, "category": "groceries", "limit": "50.00",
                                                          "currency": "EUR"})
    assert budget.status_code == 201, budget.text
    pay(spender, "30.00", merchant="Green Grocer", description="veg")
    pay(spender, "25.00", merchant="GreenGrocer Ltd")                      # 55.00: past the budget
    pay(spender, "100.00", target=spender["savings"])                      # own account: not spending
    lines = caller.call("GET", f"/api/v1/accounts/{spender['source']}/transactions").json()["items"]
    assert [(l["category"], l["categorized_by"]) for l in lines[1:3]] == [("groceries", "rule"), ("groceries", "rule")]
    shown = caller.call("GET", f"/api/v1/budgets?month={month}").json()["items"][0]
    assert (shown["spent"], shown["remaining"], shown["percent"]) == ("55.00", "-5.00", "110.00")
    notice = wait_for_notification(caller, "budget_exceeded")
    assert "groceries" in notice["message"]
    # Re-categorise the 25.00: the budget is back under, the insights follow.
    changed = caller.call("PATCH", f"/api/v1/accounts/{spender['source']}/transactions/{lines[1]['id']}",
                          json={"category": "shopping"})
    assert changed.status_code == 200 and changed.json()["categorized_by"] == "customer", changed.text
    insights = caller.call("GET", f"/api/v1/insights/spending?month={month}").json()
    assert insights["total"] == "55.00"
    assert {c["category"]: c["spent"] for c in insights["by_category"]} == {"groceries": "30.00", "shopping": "25.00"}
    problem(caller.call("GET", "/api/v1/insights/spending?month=2026-13"), 422, "validation_error")
    problem(caller.call("POST", "/api/v1/budgets", json={"month": month, "category": "groceries", "limit": "9.00",
                                                          "currency": "EUR"}), 409, "budget_exists")


def test_balance_history_matches_the_statement_s_running_balance(spender):
    caller, today = spender["caller"], datetime.now(timezone.utc).date().isoformat()
    lines = caller.call("GET", f"/api/v1/accounts/{spender['source']}/transactions").json()["items"]
    history = caller.call("GET", f"/api/v1/accounts/{spender['source']}/balance-history?from={today}&to={today}")
    assert history.status_code == 200, history.text
    assert history.json()["items"][-1]["balance"] == lines[0]["balance_after"]


def test_another_customers_budget_rule_and_line_are_404(gateway, spender):  # noqa: F811
    _, stranger = new_customer(gateway)
    rule = spender["caller"].call("GET", "/api/v1/category-rules").json()["items"][0]
    budget = spender["caller"].call("GET", "/api/v1/budgets").json()["items"][0]
    line = spender["caller"].call("GET", f"/api/v1/accounts/{spender['source']}/transactions").json()["items"][0]
    problem(stranger.call("PATCH", f"/api/v1/category-rules/{rule['id']}", json={"priority": 1}), 404, "not_found")
    problem(stranger.call("DELETE", f"/api/v1/budgets/{budget['id']}"), 404, "not_found")
    problem(stranger.call("PATCH", f"/api/v1/accounts/{spender['source']}/transactions/{line['id']}",
                          json={"category": "other"}), 404, "not_found")


def test_the_routes_are_in_the_merged_openapi(gateway):  # noqa: F811
    paths = requests.get(f"{gateway}/api/v1/openapi.json", timeout=10).json()["paths"]
    for path in ("/api/v1/categories", "/api/v1/category-rules", "/api/v1/category-rules/{rule_id}",
                 "/api/v1/budgets", "/api/v1/budgets/{budget_id}", "/api/v1/insights/spending",
                 "/api/v1/accounts/{account_id}/transactions/{line_id}", "/api/v1/accounts/{account_id}/balance-history",
                 "/api/v1/admin/risk-rules", "/api/v1/admin/risk-rules/{code}", "/api/v1/admin/reviews",
                 "/api/v1/admin/reviews/{review_id}/approve", "/api/v1/admin/reviews/{review_id}/reject",
                 "/api/v1/admin/data-quality"):
        assert path in paths, path
