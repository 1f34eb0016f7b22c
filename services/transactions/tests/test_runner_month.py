"""The runner over simulated months, day by day as the CronJob would run it with --date:
each schedule's runs on the right days (a monthly on the 31st through February), a bill
autopaid on its date with its reminder before, points earned on the card payments."""
from datetime import date, timedelta

import pytest

from services.transactions.cli import main as cli
from services.transactions.domain.workflows.runner import run_due
from services.transactions.domain.workflows.schedules import utc_today

from .factories import balance, customer_headers, deposit, open_account

TODAY = utc_today()


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


def _schedule(client, source, target, frequency, **recurrence):
    response = client.post("/api/v1/scheduled-transfers", headers=customer_headers("alice"), json={
        "from_account_id": source, "to_account_id": target, "amount": "1.00", "currency": "EUR",
        "schedule": {"frequency": frequency, "start_date": TODAY.isoformat(), **recurrence}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _run_dates(client, schedule_id):
    runs = client.get(f"/api/v1/scheduled-transfers/{schedule_id}/runs", headers=customer_headers("alice"))
    return sorted(date.fromisoformat(r["run_date"]) for r in runs.get_json()["items"] if r["status"] == "posted")


def _expected_monthly_31(start: date, until: date) -> list[date]:
    import calendar
    found, year, month = [], start.year, start.month
    while True:
        day = date(year, month, min(31, calendar.monthrange(year, month)[1]))
        if day > until:
            return found
        if day >= start:
            found.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def test_four_months_day_by_day(client, transactions_app, monkeypatch, transactions_db, capsys):
    alice = open_account(client, "alice")
    bob = open_account(client, "bob")
    deposit(client, alice, "1000.00")
    daily = _schedule(client, alice, bob, "daily", end_date=(TODAY + timedelta(days=9)).isoformat())
    weekly = _schedule(client, alice, bob, "weekly")
    monthly = _schedule(client, alice, bob, "monthly", day_of_month=31)
    bill = client.post("/api/v1/bills", headers=customer_headers("alice"), json={
        "biller_name": "Water Ltd", "biller_iban": "DE89370400440532013000", "amount_due": "5.00",
        "currency": "EUR", "due_date": (TODAY + timedelta(days=40)).isoformat(), "pay_from_account_id": alice,
        "autopay": True, "reminder_days_before": 5}).get_json()
    last = TODAY + timedelta(days=120)  # through the end of February at least once, whatever today is
    totals: dict[str, int] = {}
    day = TODAY
    while day <= last:
        for name, count in run_due(transactions_app, transactions_app.extensions["sql_sessions"], day).items():
            totals[name] = totals.get(name, 0) + count
        day += timedelta(days=1)
    assert _run_dates(client, daily) == [TODAY + timedelta(days=n) for n in range(10)]
    assert _run_dates(client, weekly) == [TODAY + timedelta(days=7 * n) for n in range(0, 120 // 7 + 1)]
    monthly_dates = _run_dates(client, monthly)
    assert monthly_dates == _expected_monthly_31(TODAY, last)
    assert any(d.month == 2 and d.day in (28, 29) for d in monthly_dates)
    assert totals["bills_paid"] == 1 and totals["bill_reminders"] == 1 and totals["bills_overdue"] == 0
    assert totals["runs_failed"] == 0 and totals["schedules_errored"] == 0 and totals["bills_errored"] == 0
    shown = client.get(f"/api/v1/bills/{bill['id']}", headers=customer_headers("alice")).get_json()
    assert shown["status"] == "paid"
    posted = len(_run_dates(client, daily)) + len(_run_dates(client, weekly)) + len(monthly_dates)
    assert totals["runs_posted"] == posted
    assert balance(client, bob) == f"{posted}.00"
    assert balance(client, alice) == f"{1000 - posted - 5}.00"

    # The command itself, for a day already run and for the next one: nothing twice.
    from tests.support.tokens import TEST_SECRET
    monkeypatch.setenv("DATABASE_URL", transactions_db.app_url)
    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", TEST_SECRET)
    assert cli(["run-due", "--date", last.isoformat()]) == 0
    assert "runs_posted=0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        cli(["run-due", "--date", "2026-02-30"])
    assert refused.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
