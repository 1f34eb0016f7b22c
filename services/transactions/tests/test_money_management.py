"""Money management on the real ledger: every new line's category (request, the customer's
rules by priority, the default) and how it got it; RE2 patterns (a backtracking killer
answers at once; bad patterns refused); re-categorising a line moves its spending; budgets
with spent, remaining and percent, crossed once whatever the concurrency; spending insights
that leave out own-account moves and incoming money and convert currencies."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from services.transactions.domain.insights.categories import SLUGS
from services.transactions.tests.factories import (at_once, balance, customer_headers, deposit, open_account, transfer)
from services.transactions.tests.test_fx_transfers import put_rate

MONTH = None


@pytest.fixture(autouse=True)
def this_month():
    global MONTH
    MONTH = datetime.now(timezone.utc).strftime("%Y-%m")


@pytest.fixture
def people(client):
    """Alice (1,000.00 EUR, a second EUR account of hers), Bob."""
    alice, savings, bob = open_account(client, "alice"), open_account(client, "alice"), open_account(client, "bob")
    deposit(client, alice, "1000.00")
    return {"alice": alice, "savings": savings, "bob": bob}


def call(client, method, path, customer="alice", **body):
    return getattr(client, method)(path, headers=customer_headers(customer), json=body or None)


def rule(client, customer="alice", status=201, **body):
    response = call(client, "post", "/api/v1/category-rules", customer, **body)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def lines(client, account, customer="alice", query=""):
    return call(client, "get", f"/api/v1/accounts/{account}/transactions{query}", customer).get_json()["items"]


def insights(client, customer="alice", query=""):
    response = call(client, "get", f"/api/v1/insights/spending?month={MONTH}{query}", customer)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def spent(body):
    return {item["category"]: (item["spent"], item["count"]) for item in body["by_category"]}


def test_the_master_table_holds_the_code_s_slugs(client):
    assert tuple(c["slug"] for c in client.get("/api/v1/categories", headers=customer_headers("alice"))
                 .get_json()["items"]) == SLUGS


# --- a line's category ------------------------------------------------------------------------

def test_request_then_rules_by_priority_then_the_default(client, people):
    rule(client, category="shopping", description_pattern="(?i)shoes", priority=1)
    rule(client, category="entertainment", description_pattern="(?i)shoes", priority=5)
    rule(client, category="healthcare", description_pattern="(?i)shoes", priority=9, active=False)
    rule(client, category="groceries", merchant_pattern="^Tesco")
    transfer(client, "alice", people["alice"], people["bob"], "1.00", description="New shoes")
    transfer(client, "alice", people["alice"], people["bob"], "2.00", description="Shoes", category="utilities")
    transfer(client, "alice", people["alice"], people["bob"], "3.00", description="weekly", merchant="Tesco Metro")
    transfer(client, "alice", people["alice"], people["bob"], "4.00", description="paying you back")
    transfer(client, "alice", people["alice"], people["savings"], "5.00", description="saving")
    shown = [(line["amount"], line["category"], line["categorized_by"]) for line in lines(client, people["alice"])]
    assert shown[:5] == [("-5.00", "other", "default"), ("-4.00", "transfer", "default"),
                         ("-3.00", "groceries", "rule"), ("-2.00", "utilities", "request"),
                         ("-1.00", "entertainment", "rule")]
    # Bob's lines are his: no rules of his, so the default between customers.
    assert {line["categorized_by"] for line in lines(client, people["bob"], "bob")} == {"default"}
    assert lines(client, people["alice"])[2]["merchant"] == "Tesco Metro"


def test_a_pattern_a_backtracking_engine_would_never_finish_answers_at_once(client, people):
    rule(client, category="shopping", description_pattern="^(a+)+$")
    rule(client, category="groceries", description_pattern="(x+x+)+y")
    response = transfer(client, "alice", people["alice"], people["bob"], "1.00", description="a" * 120 + "!")
    assert response.status_code == 201
    assert lines(client, people["alice"])[0]["category"] == "transfer"     # neither matched


@pytest.mark.parametrize("body, field", [
    ({"category": "shopping", "description_pattern": "(unclosed"}, "description_pattern"),
    ({"category": "shopping", "merchant_pattern": "a{1,100000}"}, "merchant_pattern"),
    ({"category": "shopping", "description_pattern": "x" * 257}, "description_pattern"),
    ({"category": "nope", "description_pattern": "x"}, "category"),
    ({"category": "shopping"}, "description_pattern"),
    ({"category": "shopping", "description_pattern": "x", "priority": "high"}, "priority"),
    ({"category": "shopping", "description_pattern": "x", "priority": 10**9}, "priority"),
    ({"category": "shopping", "description_pattern": "x", "active": "yes"}, "active"),
])
def test_bad_rules_are_422_and_write_nothing(client, people, owner_engines, body, field):
    response = call(client, "post", "/api/v1/category-rules", **body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]
    with owner_engines["transactions"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM category_rules")).scalar_one() == 0


def test_another_customers_rule_is_404_and_a_customer_changes_their_own(client, people):
    mine = rule(client, category="shopping", description_pattern="x")
    for method in ("patch", "delete"):
        assert call(client, method, f"/api/v1/category-rules/{mine['id']}", "bob", priority=3).status_code == 404
    changed = call(client, "patch", f"/api/v1/category-rules/{mine['id']}", priority=3, active=False).get_json()
    assert (changed["priority"], changed["active"]) == (3, False)
    assert call(client, "patch", f"/api/v1/category-rules/{mine['id']}", description_pattern="(").status_code == 422
    assert call(client, "delete", f"/api/v1/category-rules/{mine['id']}").status_code == 204
    assert call(client, "get", "/api/v1/category-rules").get_json()["items"] == []
    assert call(client, "delete", "/api/v1/category-rules/not-a-uuid").status_code == 404


def test_an_unknown_category_on_a_transfer_is_422_and_nothing_posts(client, people):
    response = transfer(client, "alice", people["alice"], people["bob"], "1.00", category="food")
    assert response.status_code == 422 and "category" in response.get_json()["errors"]
    assert balance(client, people["bob"]) == "0.00"


# --- re-categorising and insights -------------------------------------------------------------

def test_recategorising_a_line_moves_its_spending(client, people):
    transfer(client, "alice", people["alice"], people["bob"], "30.00", category="shopping")
    transfer(client, "alice", people["alice"], people["bob"], "12.50", category="groceries")
    assert spent(insights(client)) == {"shopping": ("30.00", 1), "groceries": ("12.50", 1)}
    line = lines(client, people["alice"])[1]
    changed = call(client, "patch", f"/api/v1/accounts/{people['alice']}/transactions/{line['id']}",
                   category="entertainment")
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert (changed.get_json()["category"], changed.get_json()["categorized_by"]) == ("entertainment", "customer")
    assert spent(insights(client)) == {"entertainment": ("30.00", 1), "groceries": ("12.50", 1)}
    assert [l["amount"] for l in lines(client, people["alice"], query="?category=entertainment")] == ["-30.00"]
    assert lines(client, people["alice"], query="?category=shopping") == []


def test_recategorising_someone_elses_line_or_with_a_bad_category_changes_nothing(client, people):
    transfer(client, "alice", people["alice"], people["bob"], "30.00", category="shopping")
    line = lines(client, people["alice"])[0]
    path = f"/api/v1/accounts/{people['alice']}/transactions/{line['id']}"
    assert call(client, "patch", path, "bob", category="groceries").status_code == 404
    assert call(client, "patch", f"/api/v1/accounts/{people['bob']}/transactions/{line['id']}", "bob",
                category="groceries").status_code == 404
    assert call(client, "patch", path, category="food").status_code == 422
    assert call(client, "patch", f"/api/v1/accounts/{people['alice']}/transactions/99x", category="other").status_code == 404
    assert spent(insights(client)) == {"shopping": ("30.00", 1)}


def test_insights_leave_out_own_account_moves_and_incoming_money(client, people):
    transfer(client, "alice", people["alice"], people["savings"], "100.00")
    deposit(client, people["bob"], "50.00")
    transfer(client, "bob", people["bob"], people["alice"], "20.00", category="salary")
    transfer(client, "alice", people["alice"], people["bob"], "7.00", category="groceries")
    body = insights(client)
    assert (body["total"], spent(body)) == ("7.00", {"groceries": ("7.00", 1)})
    assert insights(client, query=f"&account_id={people['savings']}")["total"] == "0.00"
    assert call(client, "get", f"/api/v1/insights/spending?month={MONTH}&account_id={people['bob']}").status_code == 404


def test_insights_convert_each_line_at_its_day_s_rate(client, people):
    usd, bob_usd = open_account(client, "alice", "USD"), open_account(client, "bob", "USD")
    deposit(client, usd, "100.00", "USD")
    put_rate(client, "EUR", "USD", "1.2500")
    transfer(client, "alice", usd, bob_usd, "25.00", "USD", category="shopping")
    transfer(client, "alice", people["alice"], people["bob"], "10.00", category="shopping")
    assert spent(insights(client)) == {"shopping": ("30.00", 2)}                       # 20.00 + 10.00 EUR
    assert spent(insights(client, query="&currency=USD")) == {"shopping": ("37.50", 2)}
    assert call(client, "get", f"/api/v1/insights/spending?month={MONTH}&currency=usd").status_code == 422


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-01", "2026-01-01", "", "2026-00"])
def test_a_month_that_is_not_yyyy_mm_is_422(client, month):
    assert call(client, "get", f"/api/v1/insights/spending?month={month}").status_code == 422


# --- budgets ------------------------------------------------------------------------------------

def budget(client, status=201, **body):
    response = call(client, "post", "/api/v1/budgets", **{"month": MONTH, "category": "groceries",
                                                          "limit": "50.00", "currency": "EUR", **body})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def budget_events(owner_engines):
    with owner_engines["transactions"].connect() as connection:
        return [row.payload["data"] for row in connection.execute(text(
            "SELECT payload FROM outbox_events WHERE event_type = 'budget.exceeded' ORDER BY id"))]


def test_a_budget_shows_spent_remaining_and_percent(client, people):
    created = budget(client)
    assert (created["spent"], created["remaining"], created["percent"]) == ("0.00", "50.00", "0.00")
    transfer(client, "alice", people["alice"], people["bob"], "10.00", category="groceries")
    transfer(client, "alice", people["alice"], people["bob"], "99.00", category="shopping")
    shown = call(client, "get", f"/api/v1/budgets?month={MONTH}").get_json()["items"]
    assert [(b["spent"], b["remaining"], b["percent"]) for b in shown] == [("10.00", "40.00", "20.00")]
    changed = call(client, "patch", f"/api/v1/budgets/{created['id']}", limit="40.00").get_json()
    assert (changed["limit"], changed["percent"]) == ("40.00", "25.00")
    assert call(client, "delete", f"/api/v1/budgets/{created['id']}").status_code == 204
    assert call(client, "get", "/api/v1/budgets").get_json()["items"] == []


@pytest.mark.parametrize("body, status", [
    ({"limit": "0.00"}, 422), ({"limit": "-5.00"}, 422), ({"limit": "1.001"}, 422), ({"limit": 5}, 422),
    ({"month": "2026-13"}, 422), ({"category": "food"}, 422), ({"currency": "XYZ"}, 422), ({"limit": "1" * 13}, 422),
])
def test_bad_budgets_are_refused(client, body, status, owner_engines):
    budget(client, status=status, **body)
    with owner_engines["transactions"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM budgets")).scalar_one() == 0


def test_one_budget_per_month_and_category_and_others_budgets_are_404(client, people):
    created = budget(client)
    duplicate = call(client, "post", "/api/v1/budgets", month=MONTH, category="groceries", limit="9.00", currency="EUR")
    assert duplicate.status_code == 409 and duplicate.get_json()["code"] == "budget_exists"
    assert call(client, "patch", f"/api/v1/budgets/{created['id']}", "bob", limit="1.00").status_code == 404
    assert call(client, "delete", f"/api/v1/budgets/{created['id']}", "bob").status_code == 404
    assert call(client, "get", "/api/v1/budgets", "bob").get_json()["items"] == []


def test_a_budget_crossed_raises_its_alert_once(client, people, owner_engines):
    created = budget(client, limit="20.00")
    transfer(client, "alice", people["alice"], people["bob"], "20.00", category="groceries")   # at the limit
    assert budget_events(owner_engines) == []
    transfer(client, "alice", people["alice"], people["bob"], "0.01", category="groceries")    # past it
    transfer(client, "alice", people["alice"], people["bob"], "5.00", category="groceries")    # further
    events = budget_events(owner_engines)
    assert [(e["budget_id"], e["spent"], e["limit"], e["customer_id"]) for e in events] == [
        (created["id"], "20.01", "20.00", "alice")]


def test_concurrent_transfers_crossing_a_budget_together_raise_one_alert(client, people, transactions_app,
                                                                        owner_engines):
    deposit(client, people["savings"], "100.00")
    budget(client, limit="15.00")
    sources = iter([people["alice"], people["savings"]])   # one thread pays from each account
    answers = at_once(transactions_app, lambda own: transfer(own, "alice", next(sources), people["bob"], "10.00",
                                                             category="groceries").status_code, times=2)
    assert answers == [201, 201]
    assert len(budget_events(owner_engines)) == 1


@pytest.mark.parametrize("line_id", ["-1", "1e5", "99999999999999999999", "%2e%2e", "0"])
def test_odd_line_ids_are_404(client, people, line_id):
    response = call(client, "patch", f"/api/v1/accounts/{people['alice']}/transactions/{line_id}", category="other")
    assert response.status_code == 404


@pytest.mark.parametrize("limit, status", [("999999999999.99", 201), ("9999999999999", 422), ("1e3", 422)])
def test_the_largest_budget_limit_fits_and_beyond_it_is_422(client, limit, status):
    budget(client, status=status, limit=limit)
