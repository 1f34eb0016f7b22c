"""A customer's notification inbox: newest-first keyset pages, read marks, purge."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common import cursors

from .errors import NotificationNotFound

READ_RETENTION = timedelta(days=90)
EVENT_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def utc_now() -> datetime:
    # MongoDB keeps milliseconds; truncating here keeps a stored time equal to what was written.
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def list_notifications(db: Database, customer_id: str, limit: int,
                       cursor: str | None = None, unread_only: bool = False) -> Page:
    query: dict[str, Any] = {"customer_id": customer_id}
    if unread_only:
        query["read_at"] = None
    if cursor is not None:  # "" too is a cursor, and not one this API gave out
        # Only a datetime and a string come out of a cursor: never a query fragment.
        created_at, last_id = cursors.decode(cursor, cursors.moment, cursors.key)
        query["$or"] = [{"created_at": {"$lt": created_at}},
                        {"created_at": created_at, "_id": {"$lt": last_id}}]
    found = list(db.notifications.find(query, {"event_key": 0})
                 .sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1))
    items = found[:limit]
    more = len(found) > limit
    return Page(items, cursors.encode(items[-1]["created_at"], items[-1]["_id"]) if more else None)


def unread_count(db: Database, customer_id: str) -> int:
    return db.notifications.count_documents({"customer_id": customer_id, "read_at": None})


def mark_read(db: Database, customer_id: str, notification_id: str,
              now: datetime | None = None) -> None:
    """Idempotent: a notification read twice keeps its first read time."""
    result = db.notifications.update_one(
        {"_id": notification_id, "customer_id": customer_id, "read_at": None},
        {"$set": {"read_at": now or utc_now()}})
    if result.matched_count == 0 and db.notifications.count_documents(
            {"_id": notification_id, "customer_id": customer_id}, limit=1) == 0:
        raise NotificationNotFound(notification_id)


def add_notification(db: Database, notification: dict[str, Any]) -> bool:
    """Insert once per `event_key` (unique index); False when it was already there."""
    try:
        db.notifications.insert_one(notification)
    except DuplicateKeyError:
        return False
    return True


def purge_expired(db: Database, now: datetime | None = None,
                  read_retention: timedelta = READ_RETENTION,
                  event_retention: timedelta = EVENT_RETENTION) -> dict[str, int]:
    """What the TTL indexes would remove, for servers that never apply TTL."""
    now = now or utc_now()
    notifications = db.notifications.delete_many({"read_at": {"$lt": now - read_retention}})
    events = db.processed_events.delete_many({"received_at": {"$lt": now - event_retention}})
    return {"notifications": notifications.deleted_count,
            "processed_events": events.deleted_count}
