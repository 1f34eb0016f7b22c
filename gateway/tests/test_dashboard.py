"""GET /api/v1/dashboard against stand-in services over real HTTP: parallel, one deadline, degraded parts."""
import threading
import time

import pytest
from flask import Flask, request

from devstack.stack import free_port
from services.common.service_auth import verify_internal_token
from tests.support.servers import serving
from tests.support.tokens import TEST_SECRET

from .conftest import bearer, gateway_for

CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
DOWN = "http://127.0.0.1:{}"


def stand_ins(seen, delay=0.0, ledger_delay=0.0):
    """The three services as small Flask apps that note who asked, and when."""
    def who(audience):
        principal = verify_internal_token(request.headers["Authorization"].split()[1], TEST_SECRET, audience)
        seen.append((audience, request.full_path.rstrip("?"), principal.subject,
                     request.headers.get("X-Request-ID"), time.monotonic()))

    accounts = Flask("accounts")

    @accounts.get("/api/v1/accounts")
    def list_accounts():
        who("accounts")
        time.sleep(delay)
        return {"items": [{"id": "a1", "balance": "10.00"}, {"id": "a2", "balance": "5.00"}], "next_cursor": None}

    ledger = Flask("transactions")

    @ledger.get("/api/v1/accounts/<account_id>/transactions")
    def statement(account_id):
        who("transactions")
        time.sleep(ledger_delay)
        if account_id == "a2":
            return {"code": "not_found"}, 404  # not mirrored in the ledger yet
        return {"items": [{"id": f"l{n}", "amount": "1.00", "created_at": f"2026-11-2{n}T10:00:00Z"}
                          for n in range(int(request.args["limit"]))], "next_cursor": None}

    preferences = Flask("preferences")

    @preferences.get("/api/v1/preferences")
    def prefs():
        who("preferences")
        time.sleep(delay)
        return {"language": "en", "theme": "dark"}

    @preferences.get("/api/v1/notifications/unread-count")
    def unread():
        who("preferences")
        time.sleep(delay)
        return {"unread": 3}
    return accounts, ledger, preferences


@pytest.fixture
def seen():
    return []


def dashboard(gateway, **headers):
    return gateway.get("/api/v1/dashboard", headers={**bearer(CUSTOMER), **headers})


def test_the_dashboard_gathers_every_part_for_the_customer(seen):
    accounts, ledger, preferences = stand_ins(seen, delay=0.3)
    with serving(accounts) as a, serving(ledger) as t, serving(preferences) as p:
        gateway = gateway_for(accounts=a.url, transactions=t.url, preferences=p.url,
                              DASHBOARD_RECENT_TRANSACTIONS=3).test_client()
        started = time.monotonic()
        response = dashboard(gateway, **{"X-Request-ID": "dash-1"})
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["degraded"] == []
    assert [a["id"] for a in body["accounts"]] == ["a1", "a2"]
    assert [line["id"] for line in body["recent_transactions"]] == ["l2", "l1", "l0"]  # newest first
    assert body["recent_transactions"][0]["account_id"] == "a1"
    assert body["unread_notifications"] == 3 and body["preferences"]["theme"] == "dark"
    assert elapsed < 0.85  # three 0.3 s parts at once, then the ledger: not one after the other
    assert {subject for _, _, subject, _, _ in seen} == {CUSTOMER}
    assert {request_id for _, _, _, request_id, _ in seen} == {"dash-1"}
    assert {path for _, path, _, _, _ in seen} == {
        "/api/v1/accounts?limit=100", "/api/v1/preferences", "/api/v1/notifications/unread-count",
        "/api/v1/accounts/a1/transactions?limit=3", "/api/v1/accounts/a2/transactions?limit=3"}


def test_a_service_that_is_down_is_named_and_the_rest_still_answer(seen):
    accounts, ledger, _ = stand_ins(seen)
    with serving(accounts) as a, serving(ledger) as t:
        gateway = gateway_for(accounts=a.url, transactions=t.url, preferences=DOWN.format(free_port())).test_client()
        response = dashboard(gateway)
    assert response.status_code == 200
    body = response.get_json()
    assert body["degraded"] == ["preferences"]
    assert body["preferences"] is None and body["unread_notifications"] is None
    assert len(body["accounts"]) == 2 and body["recent_transactions"]


def test_a_late_service_is_cut_off_at_the_deadline(seen):
    accounts, ledger, preferences = stand_ins(seen, ledger_delay=3)
    with serving(accounts) as a, serving(ledger) as t, serving(preferences) as p:
        gateway = gateway_for(accounts=a.url, transactions=t.url, preferences=p.url,
                              DASHBOARD_DEADLINE_SECONDS=0.6).test_client()
        started = time.monotonic()
        response = dashboard(gateway)
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 1.2
    body = response.get_json()
    assert body["degraded"] == ["transactions"] and body["recent_transactions"] is None
    assert body["accounts"] and body["preferences"]


def test_without_accounts_there_are_no_transactions_but_preferences_answer(seen):
    broken = Flask("accounts")

    @broken.get("/api/v1/accounts")
    def list_accounts():
        raise RuntimeError("a bug")
    _, ledger, preferences = stand_ins(seen)
    with serving(broken) as a, serving(ledger) as t, serving(preferences) as p:
        gateway = gateway_for(accounts=a.url, transactions=t.url, preferences=p.url).test_client()
        response = dashboard(gateway)
    assert response.status_code == 200
    body = response.get_json()
    assert body["degraded"] == ["accounts", "transactions"]
    assert body["accounts"] is None and body["recent_transactions"] is None
    assert body["unread_notifications"] == 3


def test_everything_down_is_a_503_problem_not_a_500():
    down = DOWN.format(free_port())
    gateway = gateway_for(accounts=down, transactions=down, preferences=down).test_client()
    response = dashboard(gateway)
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "service_unavailable"
    assert response.get_json()["degraded"] == ["accounts", "transactions", "preferences"]


def test_the_dashboard_needs_an_access_token():
    response = gateway_for().test_client().get("/api/v1/dashboard")
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"


def test_concurrent_dashboards_do_not_mix_customers(seen):
    accounts, ledger, preferences = stand_ins(seen, delay=0.05)
    with serving(accounts) as a, serving(ledger) as t, serving(preferences) as p:
        app = gateway_for(accounts=a.url, transactions=t.url, preferences=p.url)
        results = {}

        def call(customer):
            with app.test_client() as client:
                results[customer] = client.get("/api/v1/dashboard", headers={
                    **bearer(customer), "X-Request-ID": f"req-{customer}"}).status_code
        threads = [threading.Thread(target=call, args=(f"cust-{n}",)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert set(results.values()) == {200}
    for _, _, subject, request_id, _ in seen:
        assert request_id == f"req-{subject}"


def test_a_part_cut_off_by_the_deadline_does_not_trip_the_breaker(seen):
    accounts, ledger, preferences = stand_ins(seen, ledger_delay=1.0)
    with serving(accounts) as a, serving(ledger) as t, serving(preferences) as p:
        app = gateway_for(accounts=a.url, transactions=t.url, preferences=p.url, DASHBOARD_DEADLINE_SECONDS=0.3,
                          BREAKER_FAILURE_THRESHOLD=1)
        assert dashboard(app.test_client()).get_json()["degraded"] == ["transactions"]
        time.sleep(1.5)  # the cut-off calls finish their retries
        assert app.extensions["upstreams"]["transactions"].breaker.state == "closed"
