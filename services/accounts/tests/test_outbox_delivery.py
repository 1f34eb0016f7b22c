"""account.opened from the real endpoint reaches the ledger once, even when it was down at first."""
from flask import Flask, jsonify, request
from sqlalchemy import text

from devstack.stack import free_port
from services.common.service_auth import verify_internal_token
from tests.support.servers import serving
from tests.support.tokens import TEST_SECRET

from .conftest import make_accounts_app
from .factories import open_account, register


def receiving_ledger(received: list[dict]) -> Flask:
    """The ledger's POST /internal/events (one envelope or a batch, interface 3): applies each
    event id once, acknowledges every delivery."""
    app = Flask("receiving-ledger")

    def receive(envelope: dict, caller: str) -> dict:
        duplicate = any(e["id"] == envelope["id"] for e in received)
        if not duplicate and caller == "accounts":
            received.append(envelope)
        return {"id": envelope["id"], "status": "duplicate" if duplicate else "processed"}

    @app.post("/internal/events")
    def events():
        principal = verify_internal_token(request.headers["Authorization"].split()[1], TEST_SECRET, "transactions")
        body = request.get_json()
        if "events" in body:
            return jsonify(results=[receive(envelope, principal.caller) for envelope in body["events"]])
        return jsonify(status=receive(body, principal.caller)["status"])
    return app


def test_account_opened_is_delivered_once_after_the_ledger_comes_back(accounts_db, owner_engines):
    port = free_port()
    # Preferences (the other subscriber) stays unreachable here: only the ledger's copy is watched.
    app = make_accounts_app(accounts_db, f"http://127.0.0.1:{port}", PREFERENCES_URL=f"http://127.0.0.1:{free_port()}")
    client = app.test_client()
    account = open_account(client, register(client)["id"])
    relay = app.extensions["outbox_relay"]

    assert relay.deliver_due() == 0  # the ledger is down
    with owner_engines["accounts"].connect() as connection:
        row = connection.execute(text("SELECT attempts, delivered_at, last_error FROM outbox_events WHERE destination = 'transactions'")).one()
    assert row.attempts == 1 and row.delivered_at is None and "Connection" in row.last_error

    received: list[dict] = []
    with serving(receiving_ledger(received), port):
        with owner_engines["accounts"].begin() as connection:  # the backoff has passed
            connection.execute(text("UPDATE outbox_events SET next_attempt_at = now()"))
        assert relay.deliver_due() == 1
        assert relay.deliver_due() == 0
    assert [(e["type"], e["source"], e["data"]["account_id"]) for e in received] == [
        ("account.opened", "accounts", account["id"])]
    assert received[0]["data"]["customer_id"] and received[0]["data"]["overdraft_limit"] == "0.00"
