"""A customer's notification inbox: newest-first keyset pages, read marks, purge."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from .errors import NotificationNotFound

READ_RETENTION = timedelta(days=90)
EVENT_RETENTION = timedelta(days=30)


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def utc_now() -> datetime:
    # MongoDB keeps milliseconds; truncating here keeps cursors exact.
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def encode_cursor(created_at: datetime, notification_id: str) -> str:
    millis = int(created_at.timestamp() * 1000)
    return base64.urlsafe_b64encode(f"{millis}|{notification_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Only a millisecond count and an id string come out: never a query fragment."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        millis, notification_id = raw.split("|", 1)
        created_at = datetime.fromtimestamp(int(millis) / 1000, timezone.utc)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise BadCursor(cursor) from None
    if not notification_id:
        raise BadCursor(cursor)
    return created_at, notification_id


def list_notifications(db: Database, customer_id: str, limit: int,
                       cursor: str | None = None, unread_only: bool = False) -> Page:
    query: dict[str, Any] = {"customer_id": customer_id}
    if unread_only:
        query["read_at"] = None
    if cursor is not None:
        created_at, last_id = decode_cursor(cursor)
        query["$or"] = [{"created_at": {"$lt": created_at}},
                        {"created_at": created_at, "_id": {"$lt": last_id}}]
    found = list(db.notifications.find(query, {"event_key": 0})
                 .sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1))
    items = found[:limit]
    more = len(found) > limit
    return Page(items, encode_cursor(items[-1]["created_at"], items[-1]["_id"]) if more else None)


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
