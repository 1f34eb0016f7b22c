"""The preferences service's MongoDB connection, readiness check and event inbox."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from flask import Flask, current_app
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.health import add_readiness_check

from .domain.event_batch import current_batch

log = logging.getLogger(__name__)
MongoEventHandler = Callable[[Database, dict[str, Any], str], None]


def init_mongo(app: Flask, url: str, db_name: str) -> Database:
    client: MongoClient = MongoClient(
        url, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000, socketTimeoutMS=5000,
        tz_aware=True, uuidRepresentation="standard", appname=app.config["SERVICE_NAME"],
    )
    db = client[db_name]
    app.extensions["mongo_client"] = client
    app.extensions["mongo_db"] = db
    add_readiness_check(app, "mongodb", lambda: client.admin.command("ping"))
    return db


def mongo_db() -> Database:
    return current_app.extensions["mongo_db"]


def receive_mongo_event(db: Database, event: Mapping[str, Any],
                        handlers: Mapping[str, MongoEventHandler]) -> bool:
    """Apply an event once. Returns False for a duplicate.

    The server has no multi-document transactions, so the handler runs first and must be
    idempotent by event id (for example an upsert keyed on it); the event id is recorded
    after, so a crash in between means a redelivery that the handler absorbs. In a batch the
    record waits for the batch's others and all are written at once (event_batch.py).
    """
    event_id = str(event["id"])
    batch = current_batch()
    in_batch = batch is not None and event_id in batch.event_ids
    if in_batch:
        if event_id in batch.processed or event_id in batch.pending:
            return False
    elif db.processed_events.find_one({"event_id": event_id}, {"_id": 1}) is not None:
        return False
    handler = handlers.get(event["type"])
    if handler is None:
        log.info("event acknowledged without a handler", extra={"event_type": event["type"]})
    else:
        handler(db, event.get("data") or {}, event_id)
    marker = {"event_id": event_id, "event_type": event["type"],
              "source": event.get("source", "unknown"), "received_at": datetime.now(timezone.utc)}
    if in_batch:
        batch.pending[event_id] = marker  # written with the batch's others (event_batch.settle)
        return True
    try:
        db.processed_events.insert_one(marker)
    except DuplicateKeyError:
        return False  # a concurrent delivery of the same event won the race
    return True
