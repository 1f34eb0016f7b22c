"""Transactional outbox and idempotent inbox for the PostgreSQL services.

Sending: `publish` adds one row per subscriber in the caller's transaction, so an event
exists exactly when the change that caused it was committed. After the commit the relay
is woken to deliver at once. The relay (OutboxRelay) holds no transaction while it talks
to a receiver: it claims due rows with a lease in one short transaction (FOR UPDATE SKIP
LOCKED, so several relays - workers, pods, a CronJob - share the work), posts them in
batches outside any transaction, and records the outcomes in a second one. A failed row
backs off exponentially; after OUTBOX_MAX_ATTEMPTS it is dead-lettered (kept, listed and
replayable at /internal/outbox/dead-letters). A relay that dies leaves rows that are due
again when their lease expires. Per destination, a later event of an aggregate (an
account, a customer) is never sent while an earlier one is still pending there.

Receiving: `receive_event` records the event id in the same transaction as the handler's
effect, so a redelivered event is acknowledged without being applied twice. A handler
raises RetryLater (not now) or RejectEvent (never) to say it did not apply the event.
"""
from __future__ import annotations

import logging
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping

import requests
from sqlalchemy import (BigInteger, Column, DateTime, Index, Integer, MetaData, Table, Text,
                        UniqueConstraint, func, insert, select, text, update)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .tracing import delivering, trace_fields

if TYPE_CHECKING:  # the clients are made by outbox_wiring; this module stays Flask-free
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


# Interface 3 of the shared brief: a receiver takes at most this many events per POST.
MAX_BATCH = 500
# Per-event results a receiver answers with (POST {"events": [...]}).
PROCESSED, DUPLICATE, RETRY, REJECTED = "processed", "duplicate", "retry", "rejected"


def aggregate_key(data: Mapping[str, Any]) -> str | None:
    """The entity an event is about; the relay keeps each key's events in order per receiver."""
    for name, prefix in (("account_id", "account"), ("customer_id", "customer")):
        value = data.get(name)
        if value not in (None, ""):
            return f"{prefix}:{value}"
    return None


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
        key = aggregate_key(data)
        # The publishing request's trace goes with the event (services/common/tracing.py).
        trace = trace_fields()
        body = {**envelope(event_id, event_type, self.source, now, data), **trace}
        if destinations:
            # One statement for every destination, its rows as parameters: building a
            # statement with .values() per event cost a quarter of publishing (py-spy).
            session.execute(insert(self.table), [
                {"event_id": event_id, "event_type": event_type, "destination": destination,
                 "payload": body, "aggregate_key": key} for destination in destinations])
        return event_id


# Session.info key: the transaction published events (outbox_wiring wakes the relay after its commit).
PUBLISHED = "outbox_pending"


def publish(app, session: Session, event_type: str, data: dict[str, Any]) -> None:
    """Add an event to the session's transaction through the app's outbox (`app.extensions
    ["outbox"]`, set by outbox_wiring.init_outbox); the relay is woken once it commits."""
    app.extensions["outbox"].publish(session, event_type, data)
    session.info[PUBLISHED] = True


@dataclass(frozen=True)
class Claimed:
    """A row this relay holds until `lease_until` (its fencing token for the outcome)."""

    id: int
    event_id: uuid.UUID
    destination: str
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    error: str | None = None


@dataclass(frozen=True)
class PassResult:
    claimed: int
    delivered: int
    dead_lettered: int


# The claim: due, pending rows, longest due first (by ix_outbox_due: the table also holds a
# month of delivered rows), skipping rows another relay holds, and only
# the oldest pending row of each aggregate per destination (an older one in flight, backing
# off or being claimed by another relay keeps the later ones waiting). Dead letters do not
# block: the receivers order by version too, and one poison event must not stall an account.
# The claim moves next_attempt_at to the end of the lease: a relay that dies mid-delivery
# leaves rows that are simply due again when the lease runs out.
_CLAIM = """
UPDATE {table} AS o
   SET lease_until = now() + make_interval(secs => :lease),
       next_attempt_at = now() + make_interval(secs => :lease)
 WHERE o.id IN (
       SELECT c.id FROM {table} AS c
        WHERE c.delivered_at IS NULL AND c.dead_lettered_at IS NULL AND c.next_attempt_at <= now()
          AND (c.aggregate_key IS NULL OR NOT EXISTS (
               SELECT 1 FROM {table} AS p
                WHERE p.destination = c.destination AND p.aggregate_key = c.aggregate_key
                  AND p.id < c.id AND p.delivered_at IS NULL AND p.dead_lettered_at IS NULL))
        ORDER BY c.next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED)
RETURNING o.id, o.event_id, o.destination, o.payload, o.attempts, o.lease_until
"""


class OutboxRelay:
    """Delivers due outbox rows over HTTP; run it in a thread, a CLI loop or a CronJob.

    A pass is three steps, and no transaction is open during the HTTP calls:
    1. claim due rows in one short transaction (a lease: in flight until lease_until);
    2. deliver them, one POST {"events": [...]} per destination (at most MAX_BATCH each);
    3. record every outcome in a second short transaction.
    Each delivery that does not end in processed/duplicate (an HTTP error, no answer, a
    `rejected` or a `retry` result) is an attempt: the row backs off exponentially and after
    `max_attempts` it is dead-lettered (kept, no longer sent, replayable by an admin). A
    `retry` (e.g. an account event the ledger parks) counts like any failure, with the same
    cap: at the default 20 attempts and a 300 s ceiling that is about an hour of retries.
    """

    def __init__(self, engine: Engine, outbox: Outbox, batch_size: int = 100,
                 base_backoff: float = 0.5, max_backoff: float = 300.0, max_attempts: int = 20,
                 lease_seconds: float = 30.0, linger_seconds: float = 0.0):
        self.engine = engine
        self.linger_seconds = linger_seconds
        self.outbox = outbox
        self.batch_size = batch_size
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        # Longer than one pass can take (a POST per destination, each bounded by the
        # client's read timeout), else a slow pass lets another relay send the rows again.
        self.lease_seconds = lease_seconds
        self._claim_sql = text(_CLAIM.format(table=outbox.table.name))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def backoff(self, attempts: int) -> timedelta:
        delay = min(self.max_backoff, self.base_backoff * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=delay * random.uniform(0.8, 1.2))

    def deliver_due(self) -> int:
        """One pass: deliver what is due now. Returns how many rows were acknowledged."""
        return self.run_pass().delivered

    def run_pass(self) -> PassResult:
        claimed = self.claim()
        if not claimed:
            return PassResult(0, 0, 0)
        outcomes = self.deliver(claimed)
        return self.record(claimed, outcomes)

    def claim(self, limit: int | None = None) -> list[Claimed]:
        with self.engine.begin() as connection:
            rows = connection.execute(self._claim_sql, {
                "lease": self.lease_seconds, "limit": min(limit or self.batch_size, MAX_BATCH)}).all()
        return sorted((Claimed(r.id, r.event_id, r.destination, r.payload, r.attempts, r.lease_until)
                       for r in rows), key=lambda c: c.id)

    def deliver(self, claimed: list[Claimed]) -> dict[int, Outcome]:
        """The HTTP part, outside any transaction: one POST per destination and chunk."""
        by_destination: dict[str, list[Claimed]] = {}
        for row in claimed:
            by_destination.setdefault(row.destination, []).append(row)
        outcomes: dict[int, Outcome] = {}
        for destination, rows in by_destination.items():
            for start in range(0, len(rows), MAX_BATCH):
                outcomes.update(self._send_batch(destination, rows[start:start + MAX_BATCH]))
        return outcomes

    def _send_batch(self, destination: str, rows: list[Claimed]) -> dict[int, Outcome]:
        def every(error: str) -> dict[int, Outcome]:
            return {row.id: Outcome(False, error) for row in rows}

        client = self.outbox.clients.get(destination)
        if client is None:
            return every(f"no client for destination {destination!r}")
        payloads = [row.payload for row in rows]
        try:
            with delivering(destination, payloads):
                response = client.post(EVENTS_PATH, json={"events": payloads})
        except requests.RequestException as exc:
            return every(f"{type(exc).__name__}: {exc}")
        if not 200 <= response.status_code < 300:
            return every(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            results = {str(r["id"]): r for r in response.json()["results"] if isinstance(r, dict)}
        except (ValueError, KeyError, TypeError):
            return every(f"HTTP {response.status_code} without per-event results: {response.text[:200]}")
        outcomes = {}
        for row in rows:
            result = results.get(str(row.event_id))
            status = result.get("status") if result else None
            if status in (PROCESSED, DUPLICATE):
                outcomes[row.id] = Outcome(True)
            elif status in (RETRY, REJECTED):
                outcomes[row.id] = Outcome(False, f"{status}: {result.get('detail') or ''}".rstrip(": "))
            else:
                outcomes[row.id] = Outcome(False, f"no usable result for this event ({status!r})")
        return outcomes

    def record(self, claimed: list[Claimed], outcomes: Mapping[int, Outcome]) -> PassResult:
        """The second short transaction: delivered rows are done, the others back off."""
        table = self.outbox.table
        delivered = [row.id for row in claimed if outcomes.get(row.id, Outcome(False)).delivered]
        dead = 0
        with self.engine.begin() as connection:
            if delivered:
                # Delivered wins even if the lease ran out meanwhile: the receiver has it.
                connection.execute(update(table).where(table.c.id.in_(delivered),
                                                       table.c.delivered_at.is_(None))
                                   .values(delivered_at=func.now(), attempts=table.c.attempts + 1,
                                           last_error=None, lease_until=None, dead_lettered_at=None))
            for row in claimed:
                outcome = outcomes.get(row.id, Outcome(False, "not sent"))
                if outcome.delivered:
                    continue
                attempts = row.attempts + 1
                give_up = attempts >= self.max_attempts
                values: dict[str, Any] = {
                    "attempts": attempts, "last_error": (outcome.error or "")[:500], "lease_until": None,
                    "next_attempt_at": datetime.now(timezone.utc) + self.backoff(attempts)}
                if give_up:
                    values["dead_lettered_at"] = func.now()
                # Only while the lease is still ours: else another relay owns the row now.
                done = connection.execute(update(table).where(
                    table.c.id == row.id, table.c.lease_until == row.lease_until,
                    table.c.delivered_at.is_(None)).values(**values)).rowcount
                if done and give_up:
                    dead += 1
                    log.error("outbox event dead-lettered", extra={
                        "event_id": str(row.event_id), "destination": row.destination,
                        "attempts": attempts, "error": values["last_error"]})
        return PassResult(len(claimed), len(delivered), dead)

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
            if self._wake.wait(interval) and self.linger_seconds:
                # Woken by a commit: let the commits of the next few ms join this pass.
                self._stop.wait(self.linger_seconds)
            self._wake.clear()
            try:
                # A pass that delivered something may have unblocked the next event of
                # each aggregate it sent: go again until a pass delivers nothing.
                while self.run_pass().delivered and not self._stop.is_set():
                    pass
            except Exception:  # the relay must outlive a database blip
                log.exception("outbox relay pass failed")


# --- dead letters and lag (read by /internal/outbox/* and /metrics) --------------------

def dead_letters(connection, table: Table, limit: int = 500) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(table.c.event_id, table.c.event_type, table.c.destination, table.c.attempts,
               table.c.last_error, table.c.created_at, table.c.dead_lettered_at)
        .where(table.c.dead_lettered_at.is_not(None))
        .order_by(table.c.dead_lettered_at.desc(), table.c.id.desc()).limit(limit)).all()
    return [dict(row._mapping) for row in rows]


def replay_dead_letter(connection, table: Table, event_id: uuid.UUID) -> int:
    """Send a dead-lettered event again (each destination it died at), with fresh attempts."""
    return connection.execute(
        update(table).where(table.c.event_id == event_id, table.c.dead_lettered_at.is_not(None))
        .values(dead_lettered_at=None, attempts=0, next_attempt_at=func.now(), lease_until=None)
    ).rowcount


def outbox_gauges(connection, table: Table) -> dict[str, dict[str, float]]:
    """Per destination: age of the oldest pending row (seconds) and the dead-letter count."""
    lag = connection.execute(
        select(table.c.destination, func.extract("epoch", func.now() - func.min(table.c.created_at)))
        .where(table.c.delivered_at.is_(None), table.c.dead_lettered_at.is_(None))
        .group_by(table.c.destination)).all()
    dead = connection.execute(
        select(table.c.destination, func.count())
        .where(table.c.dead_lettered_at.is_not(None)).group_by(table.c.destination)).all()
    return {"lag": {d: float(v) for d, v in lag}, "dead": {d: float(v) for d, v in dead}}


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
