"""An outbox's dead letters and lag: /internal/outbox/* for admins, gauges on /metrics.

    GET  /internal/outbox/dead-letters                    {items: [{service, event_id, ...}]}
    POST /internal/outbox/dead-letters/{event_id}/replay  {service, event_id, replayed}
Both need the admin role (the gateway forwards an admin's roles; GET/POST
/api/v1/admin/outbox/dead-letters there merges every service's).
"""
from __future__ import annotations

import logging
import uuid

from flask import Blueprint, Flask, current_app, jsonify
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.engine import Engine

from .metrics import add_collector
from .outbox import OutboxRelay, dead_letters, outbox_gauges, replay_dead_letter
from .errors import Problem
from .service_auth import require_role

log = logging.getLogger(__name__)


def _relay() -> OutboxRelay:
    return current_app.extensions["outbox_relay"]


def dead_letters_blueprint() -> Blueprint:
    blp = Blueprint("outbox_dead_letters", __name__, url_prefix="/internal/outbox")

    @blp.get("/dead-letters")
    def list_dead_letters():
        require_role("admin")
        relay = _relay()
        with relay.engine.connect() as connection:
            rows = dead_letters(connection, relay.outbox.table)
        service = current_app.config["SERVICE_NAME"]
        return jsonify(items=[{
            "service": service, "event_id": str(row["event_id"]), "event_type": row["event_type"],
            "destination": row["destination"], "attempts": row["attempts"],
            "last_error": row["last_error"], "created_at": row["created_at"].isoformat(),
            "dead_lettered_at": row["dead_lettered_at"].isoformat()} for row in rows])

    @blp.post("/dead-letters/<event_id>/replay")
    def replay(event_id: str):
        principal = require_role("admin")
        try:
            parsed = uuid.UUID(event_id)
        except ValueError:
            raise Problem(404, "not_found", "No dead letter with this event id.") from None
        relay = _relay()
        with relay.engine.begin() as connection:
            replayed = replay_dead_letter(connection, relay.outbox.table, parsed)
        if not replayed:
            raise Problem(404, "not_found", "No dead letter with this event id.")
        log.warning("dead letter replayed", extra={"event_id": event_id, "rows": replayed,
                                                   "admin": principal.customer_id})
        relay.kick()
        return jsonify(service=current_app.config["SERVICE_NAME"], event_id=event_id, replayed=replayed)

    return blp


class OutboxGauges:
    """outbox_lag_seconds and outbox_dead_letters per destination, queried at scrape time."""

    def __init__(self, engine: Engine, relay: OutboxRelay, service: str):
        self.engine, self.relay, self.service = engine, relay, service

    def _families(self):
        lag = GaugeMetricFamily("outbox_lag_seconds",
                                "Age of the oldest undelivered, not dead-lettered outbox event",
                                labels=["service", "destination"])
        dead = GaugeMetricFamily("outbox_dead_letters", "Outbox events given up on (replayable)",
                                 labels=["service", "destination"])
        return lag, dead

    def describe(self):
        # Without this, registering would run collect() (a query) at app creation.
        return list(self._families())

    def collect(self):
        lag, dead = self._families()
        try:
            with self.engine.connect() as connection:
                values = outbox_gauges(connection, self.relay.outbox.table)
        except Exception:  # a scrape must not fail (or 500) because the store is down
            log.warning("outbox gauges unavailable", exc_info=True)
            return []
        destinations = set(self.relay.outbox.clients) | set(values["lag"]) | set(values["dead"])
        for destination in sorted(destinations):
            lag.add_metric([self.service, destination], values["lag"].get(destination, 0.0))
            dead.add_metric([self.service, destination], values["dead"].get(destination, 0.0))
        return [lag, dead]


def init_outbox_admin(app: Flask, relay: OutboxRelay) -> None:
    app.register_blueprint(dead_letters_blueprint())
    add_collector(app, OutboxGauges(relay.engine, relay, app.config["SERVICE_NAME"]))
