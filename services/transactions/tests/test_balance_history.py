"""Balance history: each UTC day's closing balance from the postings' running balances; the
category master."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from .factories import customer_headers, deposit, open_account, transfer

TODAY = datetime.now(timezone.utc).date()


@pytest.fixture(autouse=True)
def _pinned_today(monkeypatch):
    """The service's 'today' is the test's TODAY, even when the run crosses midnight (UTC)."""
    from services.transactions.api import balance_history as history_api
    from services.transactions.api import bills as bills_api
    from services.transactions.domain.workflows import bills as bills_domain
    from services.transactions.domain.workflows import schedules as schedules_domain
    for module, name in ((schedules_domain, "utc_today"), (bills_domain, "utc_today"), (bills_api, "utc_today"),
                         (history_api, "_today")):
        monkeypatch.setattr(module, name, lambda: TODAY)


def _history(client, account, first, last, customer="alice"):
    return client.get(f"/api/v1/accounts/{account}/balance-history",
                      query_string={"from": first.isoformat(), "to": last.isoformat()},
                      headers=customer_headers(customer))



def test_closing_balances_day_by_day(client, owner_engines):
    alice = open_account(client, "alice")
    bob = open_account(client, "bob")
    # Three days of history, written as the ledger would have on those days: deposits at
    # 10:00 UTC three and one days ago (the chain guard allows the later posting's clock).
    with owner_engines["transactions"].begin() as connection:
        connection.execute(text("INSERT INTO ledger_accounts (id, kind, currency, may_go_negative) "
                                "VALUES ('internal:settlement:EUR', 'settlement', 'EUR', true) ON CONFLICT DO NOTHING"))
    for days_ago, amount, running in ((3, 1000, 1000), (1, 500, 1500)):
        at = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), timezone.utc) + timedelta(hours=10)
        with owner_engines["transactions"].begin() as connection:
            entry = connection.execute(text(
                "INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id) "
                "VALUES (gen_random_uuid(), 'deposit', :a, 'EUR', 'internal:settlement:EUR', :to) RETURNING id"),
                {"a": amount, "to": alice}).scalar_one()
            settle = connection.execute(text("SELECT balance FROM ledger_accounts WHERE id = 'internal:settlement:EUR'"
                                             )).scalar_one()
            connection.execute(text(
                "INSERT INTO postings (entry_id, account_id, amount, currency, balance_after, created_at) VALUES "
                "(:e, 'internal:settlement:EUR', :neg, 'EUR', :s, :at), (:e, :to, :a, 'EUR', :r, :at)"),
                {"e": entry, "neg": -amount, "s": settle - amount, "at": at, "to": alice, "a": amount, "r": running})
            connection.execute(text("UPDATE ledger_accounts SET balance = balance - :a "
                                    "WHERE id = 'internal:settlement:EUR'"), {"a": amount})
            connection.execute(text("UPDATE ledger_accounts SET balance = :r WHERE id = :to"),
                               {"r": running, "to": alice})
    assert transfer(client, "alice", alice, bob, "2.50").status_code == 201  # today
    response = _history(client, alice, TODAY - timedelta(days=4), TODAY + timedelta(days=3))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["currency"] == "EUR" and body["next_cursor"] is None
    assert [(d["date"], d["balance"]) for d in body["items"]] == [
        ((TODAY - timedelta(days=4)).isoformat(), "0.00"), ((TODAY - timedelta(days=3)).isoformat(), "10.00"),
        ((TODAY - timedelta(days=2)).isoformat(), "10.00"), ((TODAY - timedelta(days=1)).isoformat(), "15.00"),
        (TODAY.isoformat(), "12.50")]  # today so far; no day after today


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-13-01", "to": "2026-12-01"}, "from"), ({"to": "2026-12-01"}, "from"),
    ({"from": "2026-12-02", "to": "2026-12-01"}, "to"), ({"from": "2020-01-01", "to": "2026-12-01"}, "from"),
])
def test_bad_ranges_are_422(client, funded, query, field):
    alice, _ = funded
    response = client.get(f"/api/v1/accounts/{alice}/balance-history", query_string=query,
                          headers=customer_headers("alice"))
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()


def test_another_customers_account_is_404(client, funded):
    alice, _ = funded
    assert _history(client, alice, TODAY, TODAY, customer="bob").status_code == 404
    assert _history(client, "acc-none", TODAY, TODAY).status_code == 404


def test_the_category_master(client):
    items = client.get("/api/v1/categories", headers=customer_headers("alice")).get_json()["items"]
    assert [c["slug"] for c in items] == ["groceries", "utilities", "entertainment", "transportation", "healthcare",
                                          "shopping", "subscriptions", "salary", "transfer", "other"]
    assert all(c["name"] and c["icon"] and c["color"].startswith("#") for c in items)
