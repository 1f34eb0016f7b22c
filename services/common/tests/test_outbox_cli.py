"""relay-outbox, the CronJob's command: deliver what is due once, say by exit code whether rows wait."""
from flask import Flask, jsonify, request
from sqlalchemy import text

from devstack.stack import free_port
from services.common.outbox_cli import relay_outbox
from services.common.service_auth import verify_internal_token
from tests.support.servers import serving
from tests.support.tokens import TEST_SECRET

from .test_outbox import accounts_app_sending_to, publish_opened

ROUTES = {"account.opened": ("transactions",)}


def receiver(received: list[str]) -> Flask:
    app = Flask("receiver")

    @app.post("/internal/events")
    def events():
        verify_internal_token(request.headers["Authorization"].split()[1], TEST_SECRET, "transactions")
        events = request.get_json()["events"]
        received.extend(event["id"] for event in events)
        return jsonify(results=[{"id": event["id"], "status": "processed"} for event in events])
    return app


def test_rows_wait_while_the_subscriber_is_down_and_go_once_it_is_back(accounts_db, owner_engines, capsys):
    port = free_port()
    app = accounts_app_sending_to(accounts_db, port)
    publish_opened(app, "acc-cli-1")
    publish_opened(app, "acc-cli-2")
    environ = {"DATABASE_URL": accounts_db.app_url, "INTERNAL_TOKEN_SECRET": TEST_SECRET}
    urls = {"transactions": f"http://127.0.0.1:{port}"}

    assert relay_outbox("accounts", app.extensions["outbox"].table, ROUTES, urls, environ) == 1
    assert "0 delivered, 2 waiting" in capsys.readouterr().err

    received: list[str] = []
    with serving(receiver(received), port):
        with owner_engines["accounts"].begin() as connection:  # the backoff has passed
            connection.execute(text("UPDATE outbox_events SET next_attempt_at = now()"))
        assert relay_outbox("accounts", app.extensions["outbox"].table, ROUTES, urls, environ) == 0
    assert len(received) == 2 and "2 delivered, 0 waiting" in capsys.readouterr().err


def test_missing_settings_are_named(capsys):
    assert relay_outbox("accounts", None, ROUTES, {}, {"DATABASE_URL": "postgresql://x/y"}) == 2
    assert "INTERNAL_TOKEN_SECRET is not set" in capsys.readouterr().err
