"""Scheduled transfers: the API (create, read, pause, resume, amount, cancel, runs), bad input,
and the runner (each date once, catch-up, failures recorded and notified, two runners)."""
import threading
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from services.transactions.cli import main as cli
from services.transactions.domain.workflows.runner import run_due
from services.transactions.domain.workflows.schedules import run_due_schedules

from .factories import balance, change_status, customer_headers, deposit, open_account

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


def _create(client, customer, source, target=None, amount="10.00", frequency="daily", start=None, key=None,
            **extra):
    body = {"from_account_id": source, "amount": amount, "currency": "EUR", "description": "rent",
            "schedule": {"frequency": frequency, "start_date": (start or TODAY).isoformat(),
                         **extra.pop("schedule", {})}, **extra}
    if target is not None:
        body["to_account_id"] = target
    return client.post("/api/v1/scheduled-transfers", json=body, headers=customer_headers(customer, key))


def _run(app, day):
    return run_due(app, app.extensions["sql_sessions"], day)


def _runs(client, customer, schedule_id):
    response = client.get(f"/api/v1/scheduled-transfers/{schedule_id}/runs", headers=customer_headers(customer))
    assert response.status_code == 200
    return response.get_json()["items"]


def test_create_read_list_and_the_next_run_date(client, funded):
    alice, bob = funded
    response = _create(client, "alice", alice, bob, frequency="monthly", schedule={"day_of_month": 31})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "active" and body["amount"] == "10.00" and body["to_account_id"] == bob
    assert body["schedule"] == {"frequency": "monthly", "start_date": TODAY.isoformat(), "end_date": None,
                                "day_of_month": 31}
    next_run = date.fromisoformat(body["next_run_date"])
    assert next_run >= TODAY and (next_run.month == TODAY.month or next_run.day >= 28)
    shown = client.get(f"/api/v1/scheduled-transfers/{body['id']}", headers=customer_headers("alice"))
    assert shown.get_json() == body
    listed = client.get("/api/v1/scheduled-transfers", headers=customer_headers("alice")).get_json()
    assert [s["id"] for s in listed["items"]] == [body["id"]]
    assert client.get("/api/v1/scheduled-transfers", headers=customer_headers("bob")).get_json()["items"] == []


@pytest.mark.parametrize("change, field", [
    ({"schedule": {"frequency": "hourly"}}, "schedule.frequency"),
    ({"schedule": {"day_of_month": 32}, "frequency": "monthly"}, "schedule.day_of_month"),
    ({"schedule": {"day_of_month": 0}, "frequency": "monthly"}, "schedule.day_of_month"),
    ({"frequency": "monthly"}, "schedule.day_of_month"),
    ({"schedule": {"day_of_month": 5}}, "schedule.day_of_month"),
    ({"schedule": {"end_date": (TODAY - timedelta(days=1)).isoformat()}}, "schedule.end_date"),
    ({"start": TODAY - timedelta(days=1)}, "schedule.start_date"),
    ({"schedule": {"start_date": "2026-02-30"}}, "schedule.start_date"),
    ({"amount": "-5.00"}, "amount"),
    ({"amount": "1.001"}, "amount"),
    ({"amount": "10000000000000"}, "amount"),
])
def test_bad_schedules_are_422_and_nothing_is_written(client, funded, owner_engines, change, field):
    alice, bob = funded
    schedule = change.pop("schedule", {})
    frequency = change.pop("frequency", "daily")
    start = change.pop("start", None)
    body = {"from_account_id": alice, "to_account_id": bob, "amount": "10.00", "currency": "EUR",
            "schedule": {"frequency": frequency, "start_date": (start or TODAY).isoformat(), **schedule}, **change}
    response = client.post("/api/v1/scheduled-transfers", json=body, headers=customer_headers("alice"))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "validation_error"
    assert field in response.get_json()["errors"], response.get_json()
    with owner_engines["transactions"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM scheduled_transfers")).scalar_one() == 0


def test_another_customers_account_or_schedule_is_404(client, funded):
    alice, bob = funded
    assert _create(client, "bob", alice, bob).status_code == 404
    created = _create(client, "alice", alice, bob).get_json()
    for method, path, body in (("get", "", None), ("patch", "", {"status": "paused"}), ("delete", "", None),
                               ("get", "/runs", None)):
        response = getattr(client, method)(f"/api/v1/scheduled-transfers/{created['id']}{path}", json=body,
                                           headers=customer_headers("bob"))
        assert response.status_code == 404, (method, path)
    assert client.get("/api/v1/scheduled-transfers/not-a-uuid", headers=customer_headers("alice")).status_code == 404
    assert _create(client, "alice", alice, "acc-nobody").status_code == 404
    assert _create(client, "alice", alice, alice).get_json()["code"] == "same_account"
    usd = open_account(client, "alice", currency="USD")
    assert _create(client, "alice", usd, bob).get_json()["code"] == "currency_mismatch"


def test_the_runner_posts_each_date_once_and_catches_up(client, funded, transactions_app):
    alice, bob = funded
    schedule = _create(client, "alice", alice, bob, amount="10.00").get_json()
    later = TODAY + timedelta(days=2)
    report = _run(transactions_app, later)  # three days: today and the two missed
    assert report["runs_posted"] == 3 and report["runs_failed"] == 0
    assert _run(transactions_app, later)["runs_posted"] == 0  # a second run moves nothing
    assert balance(client, alice) == "70.00" and balance(client, bob) == "30.00"
    runs = _runs(client, "alice", schedule["id"])
    assert [r["run_date"] for r in runs] == [(TODAY + timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert all(r["status"] == "posted" and r["transfer_id"] for r in runs)
    transfer = client.get(f"/api/v1/transfers/{runs[0]['transfer_id']}", headers=customer_headers("alice"))
    assert transfer.status_code == 200 and transfer.get_json()["amount"] == "10.00"
    shown = client.get(f"/api/v1/scheduled-transfers/{schedule['id']}", headers=customer_headers("alice")).get_json()
    assert shown["next_run_date"] == (later + timedelta(days=1)).isoformat()


def test_a_once_schedule_finishes_and_an_end_date_stops_it(client, funded, transactions_app):
    alice, bob = funded
    once = _create(client, "alice", alice, bob, frequency="once").get_json()
    bounded = _create(client, "alice", alice, bob, schedule={"end_date": (TODAY + timedelta(days=1)).isoformat()}
                      ).get_json()
    assert _run(transactions_app, TODAY + timedelta(days=10))["runs_posted"] == 3
    for schedule in (once, bounded):
        shown = client.get(f"/api/v1/scheduled-transfers/{schedule['id']}", headers=customer_headers("alice"))
        assert shown.get_json()["status"] == "finished" and shown.get_json()["next_run_date"] is None
    assert balance(client, alice) == "70.00"


def test_a_failed_run_is_recorded_notified_and_not_retried(client, funded, transactions_app, owner_engines):
    alice, bob = funded
    schedule = _create(client, "alice", alice, bob, amount="60.00").get_json()
    report = _run(transactions_app, TODAY + timedelta(days=1))
    assert report["runs_posted"] == 1 and report["runs_failed"] == 1  # 100 - 60 leaves 40: the second fails
    runs = _runs(client, "alice", schedule["id"])
    assert runs[0]["status"] == "failed" and runs[0]["error_code"] == "insufficient_funds"
    assert runs[0]["transfer_id"] is None
    deposit(client, alice, "100.00")
    assert _run(transactions_app, TODAY + timedelta(days=1))["runs_posted"] == 0  # not retried
    with owner_engines["transactions"].connect() as connection:
        events = connection.execute(text("SELECT payload FROM outbox_events WHERE event_type = "
                                         "'scheduled_transfer.failed'")).scalars().all()
    assert len(events) == 1
    data = events[0]["data"] if "data" in events[0] else events[0]
    assert data["error_code"] == "insufficient_funds" and data["schedule_id"] == schedule["id"]
    assert data["customer_id"] == "alice" and data["amount"] == "60.00"


def test_a_frozen_account_fails_the_run_with_its_code(client, funded, transactions_app):
    alice, bob = funded
    schedule = _create(client, "alice", alice, bob).get_json()
    change_status(client, alice, "frozen")
    assert _run(transactions_app, TODAY)["runs_failed"] == 1
    assert _runs(client, "alice", schedule["id"])[0]["error_code"] == "account_frozen"


def test_pause_resume_amount_and_cancel(client, funded, transactions_app):
    alice, bob = funded
    schedule = _create(client, "alice", alice, bob).get_json()
    path = f"/api/v1/scheduled-transfers/{schedule['id']}"
    paused = client.patch(path, json={"status": "paused"}, headers=customer_headers("alice"))
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    assert _run(transactions_app, TODAY + timedelta(days=3))["runs_posted"] == 0
    changed = client.patch(path, json={"amount": "2.50"}, headers=customer_headers("alice")).get_json()
    assert changed["amount"] == "2.50" and changed["status"] == "paused"
    assert client.patch(path, json={"amount": "2.501"}, headers=customer_headers("alice")).status_code == 422
    assert client.patch(path, json={}, headers=customer_headers("alice")).status_code == 422
    resumed = client.patch(path, json={"status": "active"}, headers=customer_headers("alice")).get_json()
    assert resumed["status"] == "active" and resumed["next_run_date"] == TODAY.isoformat()
    assert _run(transactions_app, TODAY)["runs_posted"] == 1
    assert balance(client, bob) == "2.50"
    cancelled = client.delete(path, headers=customer_headers("alice"))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["next_run_date"] is None
    assert client.delete(path, headers=customer_headers("alice")).get_json()["code"] == "invalid_state"
    assert client.patch(path, json={"status": "active"}, headers=customer_headers("alice")).status_code == 409
    assert _run(transactions_app, TODAY + timedelta(days=5))["runs_posted"] == 0


def test_a_schedule_to_an_iban_is_an_external_transfer(client, funded, transactions_app):
    alice, _ = funded
    schedule = _create(client, "alice", alice, to_iban="DE89370400440532013000", beneficiary_name="Landlord GmbH"
                       ).get_json()
    assert schedule["to_iban"] == "DE89370400440532013000"
    assert _run(transactions_app, TODAY)["runs_posted"] == 1
    run = _runs(client, "alice", schedule["id"])[0]
    transfer = client.get(f"/api/v1/transfers/{run['transfer_id']}", headers=customer_headers("alice")).get_json()
    assert transfer["status"] == "pending" and transfer["to_iban"] == "DE89370400440532013000"


def test_two_runners_at_once_move_money_once(client, transactions_app):
    payers = []
    bob = open_account(client, "bob")
    for n in range(6):
        payer = open_account(client, f"payer-{n}")
        deposit(client, payer, "100.00")
        assert _create(client, f"payer-{n}", payer, bob, amount="1.00").status_code == 201
        payers.append(payer)
    reports, errors = [], []

    def runner():
        try:
            reports.append(run_due_schedules(transactions_app, transactions_app.extensions["sql_sessions"],
                                             TODAY + timedelta(days=1)))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    with transactions_app.app_context():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert sum(r["runs_posted"] for r in reports) == 12 and sum(r["runs_failed"] for r in reports) == 0
    assert balance(client, bob) == "12.00"


def test_the_command_runs_the_due_work(client, funded, transactions_db, monkeypatch, capsys):
    alice, bob = funded
    _create(client, "alice", alice, bob)
    monkeypatch.setenv("DATABASE_URL", transactions_db.app_url)
    from tests.support.tokens import TEST_SECRET
    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", TEST_SECRET)
    assert cli(["run-due", "--date", TODAY.isoformat()]) == 0
    assert "runs_posted=1" in capsys.readouterr().err
    assert cli(["run-due", "--date", TODAY.isoformat()]) == 0
    assert "runs_posted=0" in capsys.readouterr().err
    assert balance(client, bob) == "10.00"


def test_the_database_keeps_runs_and_schedules(client, funded, owner_engines):
    alice, bob = funded
    schedule_id = _create(client, "alice", alice, bob).get_json()["id"]
    from sqlalchemy.exc import DBAPIError
    for statement in ("UPDATE scheduled_transfers SET from_account_id = 'x' WHERE id = :id",
                      "UPDATE scheduled_transfers SET frequency = 'weekly' WHERE id = :id",
                      "DELETE FROM scheduled_transfers WHERE id = :id"):
        with pytest.raises(DBAPIError):
            with owner_engines["transactions"].begin() as connection:
                connection.execute(text(statement), {"id": schedule_id})
    with owner_engines["transactions"].begin() as connection:
        connection.execute(text("INSERT INTO scheduled_runs (schedule_id, run_date, status, error_code) "
                                "VALUES (:id, '2030-01-01', 'failed', 'insufficient_funds')"), {"id": schedule_id})
    for statement in ("UPDATE scheduled_runs SET status = 'posted'", "DELETE FROM scheduled_runs",
                      "INSERT INTO scheduled_runs (schedule_id, run_date, status) VALUES (:id, '2030-01-02', 'failed')"):
        with pytest.raises(DBAPIError):
            with owner_engines["transactions"].begin() as connection:
                connection.execute(text(statement), {"id": schedule_id})


def test_the_runners_results_and_overdue_schedules_are_metrics(client, funded, transactions_app, owner_engines):
    from .test_metrics import metric
    alice, bob = funded
    assert metric(client, 'scheduled_runs_last_day{code="",status="failed"}') == 0
    schedule = _create(client, "alice", alice, bob, amount="60.00").get_json()
    _run(transactions_app, TODAY + timedelta(days=1))  # today's run posts, tomorrow's is refused
    assert metric(client, 'scheduled_runs_last_day{code="",status="posted"}') == 1
    assert metric(client, 'scheduled_runs_last_day{code="insufficient_funds",status="failed"}') == 1
    assert metric(client, "scheduled_transfers_overdue") == 0
    # A runner that stopped running: the schedule's next run date is already behind us.
    with owner_engines["transactions"].begin() as connection:
        connection.execute(text("UPDATE scheduled_transfers SET next_run_date = current_date - 2 WHERE id = :id"),
                           {"id": schedule["id"]})
    assert metric(client, "scheduled_transfers_overdue") == 1
