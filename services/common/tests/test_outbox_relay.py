"""The relay's lease, batches, per-aggregate order and dead letters, on real PostgreSQL.

The sender is the accounts app in-process (its relay thread off); receivers are a real
transactions process (gunicorn, stopped with SIGSTOP) or small Flask apps over real HTTP
that answer what the test wants.
"""
import os
import signal
import threading
import time
import uuid

import psycopg
import pytest
from flask import Flask, jsonify, request
from sqlalchemy import select, text

from conftest import service_config
from devstack.stack import free_port, start_app, stop_process, wait_until_healthy
from services.common.outbox import publish
from services.common.sql import session_scope
from tests.support.servers import serving
from tests.support.tokens import TEST_SECRET, auth_header

ADMIN = "a0000000-0000-4000-8000-000000000001"


def sender(accounts_db, port, **config):
    from services.accounts.app import create_app
    app = create_app(service_config(DATABASE_URL=accounts_db.app_url,
                                    TRANSACTIONS_URL=f"http://127.0.0.1:{port}", **config))
    # Event types no receiver handles: these tests are about delivery, not the ledger.
    app.extensions["outbox"].routes = {"test.ping": ("transactions",)}
    # Backoffs long enough that no row is due again unless a test says time has passed.
    app.extensions["outbox_relay"].base_backoff = 30.0
    return app


def send(app, n=0, key=None):
    data = {"n": n}
    if key is not None:
        data["account_id"] = key
    with session_scope(app.extensions["sql_sessions"]) as session:
        publish(app, session, "test.ping", data)


def rows(app):
    from services.accounts.models import outbox_events
    with app.extensions["sql_engine"].connect() as connection:
        return {r.payload["data"]["n"]: r for r in connection.execute(
            select(outbox_events).order_by(outbox_events.c.id))}


def make_due(owner_engine):
    """Time passes: every backoff is over."""
    with owner_engine.begin() as connection:
        connection.execute(text("UPDATE outbox_events SET next_attempt_at = now() "
                                "WHERE delivered_at IS NULL AND dead_lettered_at IS NULL"))


class ScriptedReceiver:
    """POST /internal/events answering, per event, `answer(data, call_number)`."""

    def __init__(self, answer):
        self.calls: list[list[dict]] = []
        self.app = Flask("scripted-receiver")

        @self.app.post("/internal/events")
        def events():
            batch = request.get_json()["events"]
            self.calls.append(batch)
            results = []
            for event in batch:
                status = answer(event["data"], len(self.calls))
                if status is not None:
                    results.append({"id": event["id"], "status": status, "detail": f"because {status}"})
            return jsonify(results=results)


# --- no transaction open during delivery; the lease -----------------------------------------

@pytest.fixture
def ledger_process(transactions_db, tmp_path):
    port = free_port()
    environment = {"PYTHONPATH": os.getcwd(), "INTERNAL_TOKEN_SECRET": TEST_SECRET,
                   "DATABASE_URL": transactions_db.app_url, "OUTBOX_RELAY": "false",
                   "WEB_CONCURRENCY": "1", "LOG_LEVEL": "WARNING"}
    process = start_app("transactions", port, environment, tmp_path)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, tmp_path / "transactions.log", 60)
        yield port, process
    finally:
        os.killpg(process.pid, signal.SIGCONT)
        stop_process(process)


def sessions_of(admin_url, database):
    with psycopg.connect(admin_url, autocommit=True) as connection:
        return connection.execute(
            "SELECT application_name, state FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            (database,)).fetchall()


def test_the_relay_holds_no_transaction_while_the_receiver_hangs(
        accounts_db, owner_engines, ledger_process, stores):
    port, process = ledger_process
    app = sender(accounts_db, port, OUTBOX_READ_TIMEOUT=20.0, OUTBOX_LEASE_SECONDS=30.0)
    relay = app.extensions["outbox_relay"]
    for n in range(3):
        send(app, n)
    database = accounts_db.app_url.rsplit("/", 1)[1].split("?")[0]

    os.killpg(process.pid, signal.SIGSTOP)  # the receiver accepts connections, answers nothing
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("pass", relay.run_pass()))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not all(r.lease_until for r in rows(app).values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(r.lease_until for r in rows(app).values()), "the relay claimed nothing"
        time.sleep(0.5)  # well into the POST, which cannot be answered
        assert worker.is_alive()
        seen = sessions_of(stores.pg_admin_url, database)
        # The relay's pooled connection is there, idle: no transaction waits on the receiver.
        assert ("accounts", "idle") in seen
        assert not [s for s in seen if s[1] and s[1].startswith("idle in transaction")], seen
    finally:
        os.killpg(process.pid, signal.SIGCONT)
    worker.join(timeout=30)
    assert outcome["pass"].claimed == 3 and outcome["pass"].delivered == 3
    assert all(r.delivered_at and r.lease_until is None for r in rows(app).values())


def test_rows_of_a_relay_that_died_are_due_again_when_the_lease_expires(accounts_db, owner_engines):
    received = []
    receiver = ScriptedReceiver(lambda data, _call: received.append(data["n"]) or "processed")
    port = free_port()
    app = sender(accounts_db, port)
    relay = app.extensions["outbox_relay"]
    relay.lease_seconds = 1.0
    send(app, 0)
    [claimed] = relay.claim()  # ... and the relay dies: no delivery, no outcome
    with serving(receiver.app, port):
        assert relay.run_pass().claimed == 0  # in flight: nobody else takes it
        assert rows(app)[0].lease_until == claimed.lease_until
        time.sleep(1.2)
        assert relay.run_pass().delivered == 1
    assert received == [0] and rows(app)[0].delivered_at is not None


def test_an_outcome_after_the_lease_was_taken_over_does_not_overwrite_it(accounts_db, owner_engines):
    from services.common.outbox import Outcome
    app = sender(accounts_db, free_port())
    relay = app.extensions["outbox_relay"]
    relay.lease_seconds = 0.2
    send(app, 0)
    [stale] = relay.claim()
    time.sleep(0.3)
    [current] = relay.claim()  # a second relay took the expired lease
    relay.record([stale], {stale.id: Outcome(False, "late failure")})
    row = rows(app)[0]
    assert row.attempts == 0 and row.lease_until == current.lease_until and row.last_error is None


# --- batches ------------------------------------------------------------------------------

def test_one_call_per_destination_carries_the_batch_and_each_result_decides(accounts_db, owner_engines):
    answers = {0: "processed", 1: "duplicate", 2: "retry", 3: "rejected", 4: None}
    receiver = ScriptedReceiver(lambda data, _call: answers[data["n"]])
    port = free_port()
    app = sender(accounts_db, port)
    for n in answers:
        send(app, n)
    with serving(receiver.app, port):
        result = app.extensions["outbox_relay"].run_pass()
    assert len(receiver.calls) == 1 and [e["data"]["n"] for e in receiver.calls[0]] == [0, 1, 2, 3, 4]
    assert (result.claimed, result.delivered) == (5, 2)
    by_n = rows(app)
    assert by_n[0].delivered_at and by_n[1].delivered_at
    for n, error in ((2, "retry: because retry"), (3, "rejected: because rejected"),
                     (4, "no usable result for this event (None)")):
        row = by_n[n]
        assert row.delivered_at is None and row.attempts == 1 and row.last_error == error
        assert row.lease_until is None and row.dead_lettered_at is None
    # Backing off: not due again yet.
    assert app.extensions["outbox_relay"].run_pass().claimed == 0


def test_an_http_error_is_an_attempt_for_every_event_of_the_batch(accounts_db, owner_engines):
    failing = Flask("failing")
    failing.post("/internal/events")(lambda: ("down for maintenance", 503))
    port = free_port()
    app = sender(accounts_db, port)
    send(app, 0)
    send(app, 1)
    with serving(failing, port):
        assert app.extensions["outbox_relay"].run_pass().delivered == 0
    assert all(r.attempts == 1 and r.last_error.startswith("HTTP 503") for r in rows(app).values())


# --- order per aggregate ----------------------------------------------------------------------

def test_a_later_event_of_an_account_waits_for_the_earlier_one(accounts_db, owner_engines):
    # The first delivery of account A's first event is refused for now (say it was parked).
    receiver = ScriptedReceiver(lambda data, call: "retry" if (data["n"], call) == (0, 1) else "processed")
    port = free_port()
    app = sender(accounts_db, port)
    for n, key in ((0, "A"), (1, "A"), (2, "A"), (3, "B"), (4, None)):
        send(app, n, key)
    relay = app.extensions["outbox_relay"]
    with serving(receiver.app, port):
        relay.run_pass()
        make_due(owner_engines["accounts"])
        while relay.run_pass().claimed:
            make_due(owner_engines["accounts"])
    sent = [[e["data"]["n"] for e in call] for call in receiver.calls]
    # A's events one at a time, in order, the first again after its retry; B and the keyless one at once.
    assert sent == [[0, 3, 4], [0], [1], [2]]
    assert all(r.delivered_at for r in rows(app).values())


# --- dead letters -----------------------------------------------------------------------------

def metric(app, name):
    body = app.test_client().get("/metrics").get_data(as_text=True)
    for line in body.splitlines():
        if line.startswith(name + "{") and 'destination="transactions"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not on /metrics:\n{body}")


def test_after_the_last_attempt_an_event_is_dead_lettered_listed_and_replayable(accounts_db, owner_engines):
    verdict = {"status": "rejected"}
    receiver = ScriptedReceiver(lambda data, _call: verdict["status"])
    port = free_port()
    app = sender(accounts_db, port, OUTBOX_MAX_ATTEMPTS=3)
    relay = app.extensions["outbox_relay"]
    send(app, 0)
    send(app, 1)
    client = app.test_client()
    admin = auth_header("accounts", subject=ADMIN, roles=["admin"])
    with serving(receiver.app, port):
        for _ in range(3):
            relay.run_pass()
            make_due(owner_engines["accounts"])
        assert relay.run_pass().claimed == 0  # given up on: never sent again by itself
        assert len(receiver.calls) == 3
        assert all(r.dead_lettered_at and r.attempts == 3 for r in rows(app).values())
        assert metric(app, "outbox_dead_letters") == 2 and metric(app, "outbox_lag_seconds") == 0

        listed = client.get("/internal/outbox/dead-letters", headers=admin)
        assert listed.status_code == 200
        items = listed.get_json()["items"]
        assert {(i["service"], i["event_type"], i["destination"], i["attempts"], i["last_error"])
                for i in items} == {("accounts", "test.ping", "transactions", 3, "rejected: because rejected")}
        assert {i["event_id"] for i in items} == {str(r.event_id) for r in rows(app).values()}
        for headers in (auth_header("accounts", subject=ADMIN, roles=["customer"]),
                        auth_header("accounts", caller="transactions")):
            assert client.get("/internal/outbox/dead-letters", headers=headers).status_code == 403
            assert client.post(f"/internal/outbox/dead-letters/{items[0]['event_id']}/replay",
                               headers=headers).status_code == 403
        for missing in (str(uuid.uuid4()), "not-a-uuid"):
            answer = client.post(f"/internal/outbox/dead-letters/{missing}/replay", headers=admin)
            assert answer.status_code == 404 and answer.get_json()["code"] == "not_found"

        verdict["status"] = "processed"  # the receiver was fixed
        replayed = rows(app)[0].event_id
        answer = client.post(f"/internal/outbox/dead-letters/{replayed}/replay", headers=admin)
        assert answer.status_code == 200 and answer.get_json()["replayed"] == 1
        row = rows(app)[0]
        assert row.dead_lettered_at is None and row.attempts == 0
        assert metric(app, "outbox_dead_letters") == 1 and metric(app, "outbox_lag_seconds") > 0
        assert relay.run_pass().delivered == 1
    assert rows(app)[0].delivered_at is not None and rows(app)[1].dead_lettered_at is not None
    assert client.post(f"/internal/outbox/dead-letters/{replayed}/replay", headers=admin).status_code == 404


def test_the_gauges_are_on_metrics_under_gunicorns_multiprocess_mode_too(accounts_db, owner_engines,
                                                                          monkeypatch, tmp_path):
    app = sender(accounts_db, free_port())
    send(app, 0)
    with owner_engines["accounts"].begin() as connection:
        connection.execute(text("UPDATE outbox_events SET created_at = now() - interval '90 seconds'"))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert 89 < metric(app, "outbox_lag_seconds") < 300
    assert metric(app, "outbox_dead_letters") == 0
