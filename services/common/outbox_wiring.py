"""Wire a service's outbox into its Flask app: clients per subscriber, relay thread, kick on
commit, dead-letter endpoints and outbox gauges."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask
from sqlalchemy import Table, event
from sqlalchemy.orm import Session

from .config import ConfigError, Setting, as_positive_float, as_positive_int, load_settings
from .transient import retry_transient
from .http_client import ServiceClient
from .outbox import MAX_BATCH, PUBLISHED, Outbox, OutboxRelay

def _as_batch_size(raw: str) -> int:
    value = as_positive_int(raw)
    if value > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} (a receiver takes no more per call)")
    return value


def _as_linger(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise ValueError("between 0 and 1 second")
    return value


# The relay's knobs; read by the app (config overrides, then the environment) and the CLI.
RELAY_SETTINGS = [
    Setting("OUTBOX_MAX_ATTEMPTS", as_positive_int, 20),
    Setting("OUTBOX_LEASE_SECONDS", as_positive_float, 30.0),
    Setting("OUTBOX_BATCH_SIZE", _as_batch_size, 100),
    Setting("OUTBOX_READ_TIMEOUT", as_positive_float, 5.0),
    # How long a woken relay waits for more commits before it claims: events of concurrent
    # transfers then go in one claim, one POST and one record instead of one each.
    Setting("OUTBOX_LINGER_SECONDS", _as_linger, 0.02),
]


def relay_settings(overrides: Mapping[str, Any] | None = None,
                   environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    names = {s.name for s in RELAY_SETTINGS}
    values = load_settings(RELAY_SETTINGS, {k: v for k, v in (overrides or {}).items() if k in names},
                           environ)
    # A lease shorter than a POST may take would let a second relay resend rows still in flight.
    if values["OUTBOX_LEASE_SECONDS"] <= values["OUTBOX_READ_TIMEOUT"]:
        raise ConfigError("OUTBOX_LEASE_SECONDS must be longer than OUTBOX_READ_TIMEOUT")
    return values


def build_relay(engine, table: Table, source: str, routes: Mapping[str, tuple[str, ...]],
                destinations: Mapping[str, str], secret: str, settings: Mapping[str, Any]) -> OutboxRelay:
    clients = {
        target: ServiceClient(url, audience=target, caller=source, secret=secret, retries=0,
                              read_timeout=settings["OUTBOX_READ_TIMEOUT"])
        for target, url in destinations.items()
    }
    outbox = Outbox(table=table, source=source, routes=routes, clients=clients)
    return OutboxRelay(engine, outbox, batch_size=settings["OUTBOX_BATCH_SIZE"],
                       max_attempts=settings["OUTBOX_MAX_ATTEMPTS"],
                       lease_seconds=settings["OUTBOX_LEASE_SECONDS"],
                       linger_seconds=settings["OUTBOX_LINGER_SECONDS"])


def init_outbox(app: Flask, table: Table, routes: Mapping[str, tuple[str, ...]],
                destinations: Mapping[str, str]) -> OutboxRelay:
    from .outbox_admin import init_outbox_admin

    name = app.config["SERVICE_NAME"]
    relay = build_relay(app.extensions["sql_engine"], table, name, routes, destinations,
                        app.config["INTERNAL_TOKEN_SECRET"], relay_settings(app.config))
    app.extensions["outbox"] = relay.outbox
    app.extensions["outbox_relay"] = relay
    init_outbox_admin(app, relay)

    # Wake the relay right after a commit that published events: delivery "at once",
    # while the relay's own timer covers anything that fails now.
    @event.listens_for(app.extensions["sql_sessions"], "after_commit")
    def _kick_after_commit(session: Session) -> None:
        if session.info.pop(PUBLISHED, False):
            relay.kick()

    if app.config.get("OUTBOX_RELAY", True):
        relay.start(app.config.get("OUTBOX_RELAY_INTERVAL", 1.0))
    return relay


def pg_event_receiver(app: Flask, table: Table, handlers: Mapping):
    """A receiver for events_blueprint: dedupe and apply in one local transaction per event
    (re-run on a deadlock or serialization failure, which roll the whole of it back)."""
    from .outbox import receive_event
    from .sql import session_scope

    def receive(envelope: dict) -> bool:
        def once() -> bool:
            with session_scope(app.extensions["sql_sessions"]) as session:
                return receive_event(session, table, envelope, handlers)
        return retry_transient(once)

    return receive
