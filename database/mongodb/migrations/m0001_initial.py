"""Collections and indexes of the preferences/notifications services."""
from pymongo import ASCENDING, DESCENDING

from .helpers import ensure_collection

VERSION = 1
DESCRIPTION = "preferences, notification_settings, notifications, processed_events"

DAY = 24 * 60 * 60


def _schema(required: dict[str, str]) -> dict:
    # Deliberately minimal: only the fields every reader depends on.
    return {"$jsonSchema": {
        "bsonType": "object",
        "required": list(required),
        "properties": {field: {"bsonType": t} for field, t in required.items()},
    }}


def up(db):
    versioned = _schema({"customer_id": "string", "version": "int"})
    for name in ("preferences", "notification_settings"):
        ensure_collection(db, name, versioned)
        # One document per customer; `version` is the optimistic-concurrency counter.
        db[name].create_index([("customer_id", ASCENDING)], unique=True,
                              name="customer_id_unique")

    ensure_collection(db, "notifications",
                      _schema({"customer_id": "string", "kind": "string", "created_at": "date"}))
    # Newest-first listing per customer; _id breaks ties for stable keyset paging.
    db.notifications.create_index(
        [("customer_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="customer_created_desc")
    # Read notifications are dropped 90 days after being read; unread ones have no
    # read_at and are kept.
    db.notifications.create_index([("read_at", ASCENDING)], expireAfterSeconds=90 * DAY,
                                  name="read_at_ttl")

    # Idempotent receiver: inserting an event_id twice fails, so a redelivered
    # event is recognised. Entries older than 30 days are forgotten.
    ensure_collection(db, "processed_events")
    db.processed_events.create_index([("event_id", ASCENDING)], unique=True,
                                     name="event_id_unique")
    db.processed_events.create_index([("received_at", ASCENDING)],
                                     expireAfterSeconds=30 * DAY, name="received_at_ttl")
