"""Wire a service's outbox into its Flask app: clients per subscriber, relay thread, kick on commit."""
from __future__ import annotations

from typing import Mapping

from flask import Flask
from sqlalchemy import Table, event
from sqlalchemy.orm import Session

from .http_client import ServiceClient
from .outbox import Outbox, OutboxRelay

_PENDING = "outbox_pending"


def init_outbox(app: Flask, table: Table, routes: Mapping[str, tuple[str, ...]],
                destinations: Mapping[str, str]) -> OutboxRelay:
    name = app.config["SERVICE_NAME"]
    clients = {
        target: ServiceClient(url, audience=target, caller=name,
                              secret=app.config["INTERNAL_TOKEN_SECRET"], retries=0,
                              read_timeout=app.config.get("OUTBOX_READ_TIMEOUT", 5.0))
        for target, url in destinations.items()
    }
    outbox = Outbox(table=table, source=name, routes=routes, clients=clients)
    relay = OutboxRelay(app.extensions["sql_engine"], outbox)
    app.extensions["outbox"] = outbox
    app.extensions["outbox_relay"] = relay

    # Wake the relay right after a commit that published events: delivery "at once",
    # while the relay's own timer covers anything that fails now.
    @event.listens_for(app.extensions["sql_sessions"], "after_commit")
    def _kick_after_commit(session: Session) -> None:
        if session.info.pop(_PENDING, False):
            relay.kick()

    if app.config.get("OUTBOX_RELAY", True):
        relay.start(app.config.get("OUTBOX_RELAY_INTERVAL", 1.0))
    return relay


def publish(app: Flask, session: Session, event_type: str, data: dict) -> None:
    app.extensions["outbox"].publish(session, event_type, data)
    session.info[_PENDING] = True


def pg_event_receiver(app: Flask, table: Table, handlers: Mapping):
    """A receiver for events_blueprint: dedupe and apply in one local transaction."""
    from .outbox import receive_event
    from .sql import session_scope

    def receive(envelope: dict) -> bool:
        with session_scope(app.extensions["sql_sessions"]) as session:
            return receive_event(session, table, envelope, handlers)

    return receive
