"""Transactional outbox and idempotent inbox for the PostgreSQL services.

Sending: `publish` adds one row per subscriber in the caller's transaction, so an event
exists exactly when the change that caused it was committed. After the commit the relay
is woken to deliver at once; rows it cannot deliver are retried with exponential backoff
until a receiver acknowledges them (2xx). Several relays (workers, pods, a CronJob) can
run at once: each claims rows with FOR UPDATE SKIP LOCKED.

Receiving: `receive_event` records the event id in the same transaction as the handler's
effect, so a redelivered event is acknowledged without being applied twice.
"""
from __future__ import annotations

import logging
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

import requests
from sqlalchemy import (BigInteger, Column, DateTime, Index, Integer, MetaData, Table, Text,
                        UniqueConstraint, func, insert, select, text, update)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .http_client import ServiceClient

log = logging.getLogger(__name__)

EVENTS_PATH = "/internal/events"


class RetryLater(Exception):
    """Raised by an event handler: not applied now, deliver it again later (e.g. an account
    event for an account the ledger does not know yet). Nothing the handler wrote is kept."""


class RejectEvent(Exception):
    """Raised by an event handler: the event is malformed and will never apply. Nothing the
    handler wrote is kept; the sender counts it toward dead-lettering."""

EventHandler = Callable[[Session, dict[str, Any]], None]


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox_events", metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("event_type", Text, nullable=False),
        Column("destination", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("delivered_at", DateTime(timezone=True)),
        Column("last_error", Text),
        # Migrations accounts_0003 / transactions_0004: lease, dead letters, ordering key.
        Column("lease_until", DateTime(timezone=True)),
        Column("dead_lettered_at", DateTime(timezone=True)),
        Column("aggregate_key", Text),
        UniqueConstraint("event_id", "destination", name="uq_outbox_event_destination"),
        # The relay's claim: pending rows that are due.
        Index("ix_outbox_due", "next_attempt_at",
              postgresql_where=text("delivered_at IS NULL AND dead_lettered_at IS NULL")),
    )


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events", metadata,
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def envelope(event_id: uuid.UUID, event_type: str, source: str, occurred_at: datetime,
             data: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(event_id), "type": event_type, "source": source,
            "occurred_at": occurred_at.isoformat(), "data": data}


@dataclass
class Outbox:
    """Where a service's events go: event type -> subscriber names, name -> client."""

    table: Table
    source: str
    routes: Mapping[str, tuple[str, ...]]
    clients: Mapping[str, ServiceClient]

    def publish(self, session: Session, event_type: str, data: dict[str, Any]) -> uuid.UUID:
        """Add the event to the caller's transaction; it is sent once that commits."""
        event_id = uuid.uuid4()
        destinations = self.routes.get(event_type, ())
        if not destinations:
            log.warning("event has no subscribers", extra={"event_type": event_type})
        now = datetime.now(timezone.utc)
        for destination in destinations:
            body = envelope(event_id, event_type, self.source, now, data)
            session.execute(insert(self.table).values(
                event_id=event_id, event_type=event_type, destination=destination, payload=body))
        return event_id


class OutboxRelay:
    """Delivers due outbox rows over HTTP; run it in a thread, a CLI loop or a CronJob."""

    def __init__(self, engine: Engine, outbox: Outbox, batch_size: int = 100,
                 base_backoff: float = 0.5, max_backoff: float = 300.0):
        self.engine = engine
        self.outbox = outbox
        self.batch_size = batch_size
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def backoff(self, attempts: int) -> timedelta:
        delay = min(self.max_backoff, self.base_backoff * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=delay * random.uniform(0.8, 1.2))

    def deliver_due(self) -> int:
        """One pass: deliver what is due now. Returns how many rows were acknowledged."""
        table = self.outbox.table
        delivered = 0
        with Session(self.engine) as session, session.begin():
            rows = session.execute(
                select(table.c.id, table.c.destination, table.c.payload, table.c.attempts)
                .where(table.c.delivered_at.is_(None), table.c.next_attempt_at <= func.now())
                .order_by(table.c.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                error = self._send(row.destination, row.payload)
                now = datetime.now(timezone.utc)
                if error is None:
                    values: dict[str, Any] = {"delivered_at": now, "attempts": row.attempts + 1,
                                              "last_error": None}
                    delivered += 1
                else:
                    values = {"attempts": row.attempts + 1, "last_error": error[:500],
                              "next_attempt_at": now + self.backoff(row.attempts + 1)}
                session.execute(update(table).where(table.c.id == row.id).values(**values))
        return delivered

    def _send(self, destination: str, body: dict[str, Any]) -> str | None:
        client = self.outbox.clients.get(destination)
        if client is None:
            return f"no client for destination {destination!r}"
        try:
            response = client.post(EVENTS_PATH, json=body)
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:200]}"

    def kick(self) -> None:
        """Deliver soon: called after a commit that published events."""
        self._wake.set()

    def start(self, interval: float = 1.0) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(interval,),
                                        name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                while self.deliver_due() == self.batch_size and not self._stop.is_set():
                    pass  # a full batch means more may be waiting
            except Exception:  # the relay must outlive a database blip
                log.exception("outbox relay pass failed")


def receive_event(session: Session, table: Table, event: Mapping[str, Any],
                  handlers: Mapping[str, EventHandler]) -> bool:
    """Apply an event once. Returns False for a duplicate. The caller commits."""
    event_id = uuid.UUID(str(event["id"]))
    inserted = session.execute(
        pg_insert(table)
        .values(event_id=event_id, event_type=event["type"], source=event.get("source", "unknown"))
        .on_conflict_do_nothing(index_elements=[table.c.event_id])
        .returning(table.c.event_id)
    ).first()
    if inserted is None:
        return False
    handler = handlers.get(event["type"])
    if handler is None:
        log.info("event acknowledged without a handler", extra={"event_type": event["type"]})
    else:
        handler(session, event.get("data") or {})
    return True
