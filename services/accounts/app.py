"""The accounts service: customers, credentials and bank accounts (PostgreSQL)."""
from __future__ import annotations

from typing import Any, Mapping

from services.common.app_factory import create_service_app
from services.common.config import Setting, as_bool, as_positive_float, as_url
from services.common.events_api import events_blueprint
from services.common.outbox_wiring import init_outbox, pg_event_receiver
from services.common.sql import init_sql

from .api import reference
from .events import EVENT_ROUTES
from .models import outbox_events, processed_events

SETTINGS = [
    Setting("DATABASE_URL", as_url),
    Setting("TRANSACTIONS_URL", as_url, "http://127.0.0.1:8082"),
    Setting("OUTBOX_RELAY", as_bool, True),
    Setting("OUTBOX_RELAY_INTERVAL", as_positive_float, 1.0),
]


def create_app(config: Mapping[str, Any] | None = None):
    app, api = create_service_app("accounts", SETTINGS, config)
    init_sql(app, app.config["DATABASE_URL"])
    init_outbox(app, outbox_events, EVENT_ROUTES,
                destinations={"transactions": app.config["TRANSACTIONS_URL"]})

    api.register_blueprint(reference.blp)
    api.register_blueprint(events_blueprint(pg_event_receiver(app, processed_events, handlers={})))
    return app
