"""The transactional outbox between two real services on real PostgreSQL databases."""
import time
import uuid

import pytest
from sqlalchemy import select, text, update

from conftest import service_config
from devstack.stack import free_port
from services.common.outbox import publish
from services.common.sql import session_scope
from tests.support.servers import serving
from tests.support.tokens import auth_header


def accounts_app_sending_to(accounts_db, port, **config):
    from services.accounts.app import create_app
    app = create_app(service_config(DATABASE_URL=accounts_db.app_url,
                                    TRANSACTIONS_URL=f"http://127.0.0.1:{port}", **config))
    # These tests watch one subscriber: the ledger (preferences hears of accounts too).
    app.extensions["outbox"].routes = {"account.opened": ("transactions",)}
    return app


def opened_event(account_id):
    # A complete event: the ledger really applies it when it is delivered.
    return {"account_id": account_id, "customer_id": "cust-1", "currency": "EUR"}


def publish_opened(app, account_id="acc-1"):
    from services.accounts.models import outbox_events
    with session_scope(app.extensions["sql_sessions"]) as session:
        publish(app, session, "account.opened", opened_event(account_id))
    return outbox_events


def outbox_rows(app):
    from services.accounts.models import outbox_events
    with app.extensions["sql_engine"].connect() as connection:
        return connection.execute(select(outbox_events)).all()


def processed_count(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM processed_events")).scalar_one()


def test_an_event_exists_only_if_its_transaction_commits(accounts_db):
    app = accounts_app_sending_to(accounts_db, free_port())
    with pytest.raises(RuntimeError):
        with session_scope(app.extensions["sql_sessions"]) as session:
            publish(app, session, "account.opened", {"account_id": "rolled-back"})
            raise RuntimeError("the business change failed")
    assert outbox_rows(app) == []
    publish_opened(app)
    rows = outbox_rows(app)
    assert [(r.event_type, r.destination, r.delivered_at) for r in rows] == [
        ("account.opened", "transactions", None)]
    assert rows[0].payload["data"] == opened_event("acc-1")


def test_delivery_while_the_receiver_is_down_then_back_is_exactly_once(
        accounts_db, transactions_db, owner_engines):
    from services.accounts.models import outbox_events
    from services.transactions.app import create_app as create_transactions
    port = free_port()
    app = accounts_app_sending_to(accounts_db, port)
    relay = app.extensions["outbox_relay"]
    publish_opened(app)

    assert relay.deliver_due() == 0  # nobody listens on the port yet
    [row] = outbox_rows(app)
    assert row.attempts == 1 and row.delivered_at is None and "Connection" in row.last_error
    assert relay.deliver_due() == 0  # backing off: not due again yet

    receiver = create_transactions(service_config(DATABASE_URL=transactions_db.app_url))
    with serving(receiver, port):
        # Time passes: the backoff is over.
        with app.extensions["sql_engine"].begin() as connection:
            connection.execute(update(outbox_events).values(next_attempt_at=text("now()")))
        assert relay.deliver_due() == 1
        assert relay.deliver_due() == 0
        [row] = outbox_rows(app)
        assert row.delivered_at is not None and row.attempts == 2
        assert processed_count(owner_engines["transactions"]) == 1

        # A redelivery (say the ack was lost) is acknowledged but not applied again.
        response = receiver.test_client().post(
            "/internal/events", json=row.payload, headers=auth_header("transactions", caller="accounts"))
        assert response.status_code == 200 and response.get_json()["status"] == "duplicate"
        assert processed_count(owner_engines["transactions"]) == 1


def test_a_commit_wakes_the_relay_at_once(accounts_db, transactions_db, owner_engines):
    from services.transactions.app import create_app as create_transactions
    port = free_port()
    # A long interval: only the after-commit kick can deliver within the deadline.
    app = accounts_app_sending_to(accounts_db, port, OUTBOX_RELAY=True, OUTBOX_RELAY_INTERVAL=60.0)
    receiver = create_transactions(service_config(DATABASE_URL=transactions_db.app_url))
    try:
        with serving(receiver, port):
            publish_opened(app)
            deadline = time.monotonic() + 5
            while processed_count(owner_engines["transactions"]) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert processed_count(owner_engines["transactions"]) == 1
    finally:
        app.extensions["outbox_relay"].stop()


def test_concurrent_relays_send_each_event_once(accounts_db, transactions_db):
    from concurrent.futures import ThreadPoolExecutor
    from services.transactions.app import create_app as create_transactions
    port = free_port()
    app = accounts_app_sending_to(accounts_db, port)
    for n in range(40):
        publish_opened(app, account_id=f"acc-{n}")
    receiver = create_transactions(service_config(DATABASE_URL=transactions_db.app_url))
    received = []

    @receiver.before_request
    def _count():
        from flask import request
        if request.path == "/internal/events":
            received.extend(event["id"] for event in request.get_json()["events"])

    relay = app.extensions["outbox_relay"]
    relay.batch_size = 5
    with serving(receiver, port):
        with ThreadPoolExecutor(4) as pool:
            while sum(pool.map(lambda _: relay.deliver_due(), range(4))):
                pass
    assert len(received) == 40 and len(set(received)) == 40
    assert all(row.delivered_at is not None for row in outbox_rows(app))


def test_only_services_may_post_events(transactions_app):
    envelope = {"id": str(uuid.uuid4()), "type": "account.opened", "source": "accounts",
                "occurred_at": "2026-11-25T00:00:00+00:00", "data": {}}
    client = transactions_app.test_client()
    response = client.post("/internal/events", json=envelope, headers=auth_header("transactions"))
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    bad = client.post("/internal/events", json={"id": "nope"},
                      headers=auth_header("transactions", caller="accounts"))
    assert bad.status_code == 422 and {"id", "type", "source"} <= set(bad.get_json()["errors"])
