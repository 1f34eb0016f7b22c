"""The ledger integrity check: each rule catches its own kind of damage; the endpoint shows
the last run with its age (or runs now), and the CLI job records its run."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from devstack.stack import ROOT
from services.transactions.tests.factories import (ADMIN, admin_headers, deposit, open_account, set_kyc,
                                                   transfer)
from tests.support.tokens import FreshAuthHeader, auth_header

ADMIN_AUTH = FreshAuthHeader("transactions", subject=ADMIN, roles=("admin",))


@pytest.fixture
def busy(client):
    """Two customers, a deposit, a transfer and a reversal of a second transfer."""
    alice, bob = open_account(client, "alice"), open_account(client, "bob")
    set_kyc(client, "alice", "verified")  # she pays another customer
    deposit(client, alice, "50.00")
    sent = transfer(client, "alice", alice, bob, "20.00").get_json()
    refunded = transfer(client, "alice", alice, bob, "5.00").get_json()
    reversal = client.post(f"/api/v1/transfers/{refunded['id']}/reverse", json={},
                           headers=admin_headers())
    assert reversal.status_code == 201, reversal.get_data(as_text=True)
    return {"alice": alice, "bob": bob, "sent": sent["id"], "reversal": reversal.get_json()["id"]}


def tamper(engine, statement, **params):
    """Damage the books as only the owner could, with the guards switched off for it."""
    with engine.begin() as connection:
        for table in ("ledger_accounts", "journal_entries", "postings"):
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        connection.execute(text(statement), params)
        for table in ("ledger_accounts", "journal_entries", "postings"):
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def check_now(client):
    response = client.get("/api/v1/admin/ledger-check?run=now", headers=ADMIN_AUTH)
    assert response.status_code == 200
    return response.get_json()


def checks_failed(report):
    return {v["check"] for v in report["violations"]}


def test_a_busy_ledger_passes(client, busy):
    report = check_now(client)
    assert report["ok"] and report["violations"] == []
    assert report["duration_ms"] >= 0 and report["age_seconds"] == 0


def test_a_tampered_balance_fails_three_ways(client, busy, owner_engines):
    tamper(owner_engines["transactions"], "UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :id",
           id=busy["bob"])
    report = check_now(client)
    assert not report["ok"]
    assert checks_failed(report) == {"balance_differs_from_postings", "running_balance_differs",
                                     "currency_does_not_sum_to_zero"}
    assert busy["bob"] in {v["subject"] for v in report["violations"]}


def test_an_entry_header_that_lies_about_its_postings(client, busy, owner_engines):
    tamper(owner_engines["transactions"], "UPDATE journal_entries SET amount = amount + 1 WHERE id = :id",
           id=busy["sent"])
    report = check_now(client)
    assert checks_failed(report) == {"entry_header_differs"}
    assert report["violations"][0]["subject"] == busy["sent"]


def test_a_reversal_that_does_not_mirror_its_original(client, busy, owner_engines):
    tamper(owner_engines["transactions"],
           "UPDATE journal_entries SET reverses_entry_id = :other WHERE id = :id",
           id=busy["reversal"], other=busy["sent"])
    assert checks_failed(check_now(client)) == {"reversal_differs_from_original"}


def test_an_unbalanced_posting(client, busy, owner_engines):
    tamper(owner_engines["transactions"],
           "UPDATE postings SET amount = amount + 1 WHERE id = (SELECT min(id) FROM postings WHERE entry_id = :id)",
           id=busy["sent"])
    assert "unbalanced_entry" in checks_failed(check_now(client))


def test_the_endpoint_shows_the_last_run_and_its_age_until_asked_to_run(client, busy, owner_engines):
    first = client.get("/api/v1/admin/ledger-check", headers=ADMIN_AUTH).get_json()
    assert first["ok"]  # no run yet: it ran one
    tamper(owner_engines["transactions"], "UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :id",
           id=busy["bob"])
    shown = client.get("/api/v1/admin/ledger-check", headers=ADMIN_AUTH).get_json()
    assert shown["ok"] and shown["checked_at"] == first["checked_at"]  # the last run, not a new one
    assert not check_now(client)["ok"]
    assert not client.get("/api/v1/admin/ledger-check", headers=ADMIN_AUTH).get_json()["ok"]


def test_the_cli_job_records_its_run(client, busy, owner_engines, transactions_db):
    env = {**os.environ, "DATABASE_URL": transactions_db.app_url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "services.transactions.cli", "ledger-check"]
    assert subprocess.run(command, env=env, capture_output=True, cwd=ROOT).returncode == 0
    tamper(owner_engines["transactions"], "UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :id",
           id=busy["bob"])
    failed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    assert failed.returncode == 1 and busy["bob"] in failed.stdout
    shown = client.get("/api/v1/admin/ledger-check", headers=ADMIN_AUTH).get_json()
    assert not shown["ok"] and busy["bob"] in {v["subject"] for v in shown["violations"]}


def test_customers_may_not_see_it(client):
    response = client.get("/api/v1/admin/ledger-check", headers=auth_header("transactions", subject="alice"))
    assert response.status_code == 403


def test_a_posted_manual_entry_that_does_not_balance(client, owner_engines):
    from .books_support import created_entry, post, rent
    entry = created_entry(client, rent("10.00"))
    assert post(client, entry["id"]).status_code == 200
    assert check_now(client)["ok"]
    with owner_engines["transactions"].begin() as connection:
        connection.execute(text("ALTER TABLE manual_journal_lines DISABLE TRIGGER USER"))
        connection.execute(text("UPDATE manual_journal_lines SET debit = debit + 1 "
                                "WHERE entry_id = :id AND debit > 0"), {"id": entry["id"]})
        connection.execute(text("ALTER TABLE manual_journal_lines ENABLE TRIGGER USER"))
    report = check_now(client)
    assert checks_failed(report) == {"manual_entry_unbalanced"}
    assert report["violations"][0]["subject"] == entry["id"]


def test_a_manual_entry_posted_into_a_closed_period(client, owner_engines):
    from .books_support import closed_period, created_entry, post, rent
    entry = created_entry(client, rent("10.00", effective_date="2026-11-30"))
    assert post(client, entry["id"]).status_code == 200
    closed_period(client, "January 2025", "2025-01-01", "2025-01-31")
    assert check_now(client)["ok"]
    with owner_engines["transactions"].begin() as connection:
        connection.execute(text("ALTER TABLE manual_journal_entries DISABLE TRIGGER USER"))
        # Posted after the close, into the closed month (posting earlier and closing later is fine).
        connection.execute(text("UPDATE manual_journal_entries SET effective_date = '2025-01-15', "
                                "posted_at = clock_timestamp() WHERE id = :id"), {"id": entry["id"]})
        connection.execute(text("ALTER TABLE manual_journal_entries ENABLE TRIGGER USER"))
    assert checks_failed(check_now(client)) == {"posted_in_closed_period"}
