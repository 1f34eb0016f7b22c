"""The preferences service: preferences, notification settings and inbox (MongoDB)."""
from __future__ import annotations

from typing import Any, Mapping

from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

from services.common.app_factory import create_service_app
from services.common.config import Setting, as_url
from services.common.events_api import events_blueprint

from . import events, purge
from .api import notifications, reference
from .api.documents import notification_settings_blp, preferences_blp
from .domain.event_batch import prefetched
from .kinds import NOTIFICATION_SETTINGS
from .store import init_mongo, receive_mongo_event

SETTINGS = [
    Setting("MONGO_URL", as_url),
    Setting("MONGO_DB", str, "preferences"),
]


def create_app(config: Mapping[str, Any] | None = None):
    app, api = create_service_app("preferences", SETTINGS, config, instrumentors=(PymongoInstrumentor,))
    db = init_mongo(app, app.config["MONGO_URL"], app.config["MONGO_DB"])
    api.register_blueprint(reference.blp)
    api.register_blueprint(preferences_blp)
    api.register_blueprint(notification_settings_blp)
    api.register_blueprint(notifications.blp)
    api.register_blueprint(events_blueprint(
        lambda envelope: receive_mongo_event(db, envelope, events.HANDLERS),
        batch_scope=lambda envelopes: prefetched(db, envelopes, NOTIFICATION_SETTINGS)))
    purge.init_cli(app)
    return app
