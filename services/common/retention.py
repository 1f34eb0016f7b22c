"""Retention for the PostgreSQL services: the `purge` command's deletions.

What goes, and when (each service's cli names its tables):
- idempotency keys older than IDEMPOTENCY_RETENTION_HOURS (default 168 = 7 days; refused
  below 24: a client retrying a day-old request must still get the first answer);
- delivered outbox rows older than OUTBOX_RETENTION_DAYS (default 30) by delivery time;
  pending and dead-lettered rows are never purged;
- processed (inbox) event ids older than OUTBOX_RETENTION_DAYS: an event is redelivered
  within minutes (the lease, the backoff), never a month later, so the dedupe record is
  not needed past that.
Rows go in batches of PURGE_BATCH_SIZE (default 5000), one short transaction each, so the
purge never holds many locks or a long transaction, and skips rows another session holds.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import ColumnElement, Table, delete, func, select, true, tuple_
from sqlalchemy.engine import Engine

from .config import ConfigError, Setting, as_positive_int, load_settings
from .sql import make_engine

MIN_IDEMPOTENCY_HOURS = 24


def as_idempotency_hours(raw: str) -> int:
    hours = int(raw)
    if hours < MIN_IDEMPOTENCY_HOURS:
        raise ValueError(f"at least {MIN_IDEMPOTENCY_HOURS} hours, got {hours}")
    return hours


RETENTION_SETTINGS = [
    Setting("DATABASE_URL", str),
    Setting("IDEMPOTENCY_RETENTION_HOURS", as_idempotency_hours, 168),
    Setting("OUTBOX_RETENTION_DAYS", as_positive_int, 30),
    Setting("PURGE_BATCH_SIZE", as_positive_int, 5000),
]


@dataclass(frozen=True)
class PurgeTarget:
    """Rows of `table` whose `column` is older than `retention` (and match `where`)."""

    name: str
    table: Table
    column: ColumnElement
    retention: timedelta
    where: ColumnElement | None = None


def purge_target(engine: Engine, target: PurgeTarget, batch_size: int = 5000) -> int:
    """Delete the target's expired rows, `batch_size` per transaction. Returns how many."""
    table = target.table
    key = tuple_(*table.primary_key.columns)
    expired = (select(*table.primary_key.columns)
               .where(target.column < func.now() - target.retention,
                      target.where if target.where is not None else true())
               .limit(batch_size).with_for_update(skip_locked=True))
    removed = 0
    while True:
        with engine.begin() as connection:
            count = connection.execute(delete(table).where(key.in_(expired))).rowcount
        removed += count
        if count < batch_size:
            return removed


def outbox_targets(outbox: Table, processed: Table, days: int) -> list[PurgeTarget]:
    retention = timedelta(days=days)
    return [PurgeTarget("delivered outbox rows", outbox, outbox.c.delivered_at, retention,
                        outbox.c.delivered_at.is_not(None)),
            PurgeTarget("processed events", processed, processed.c.received_at, retention)]


def idempotency_target(table: Table, hours: int) -> PurgeTarget:
    return PurgeTarget("idempotency keys", table, table.c.created_at, timedelta(hours=hours))


def purge(engine: Engine, targets: list[PurgeTarget], batch_size: int) -> dict[str, int]:
    return {target.name: purge_target(engine, target, batch_size) for target in targets}


def purge_command(service: str, targets: Callable[[Mapping[str, Any]], list[PurgeTarget]],
                  environ: Mapping[str, str] = os.environ) -> int:
    """The cli's `purge`: 0 when done, 2 on bad settings (nothing deleted)."""
    try:
        settings = load_settings(RETENTION_SETTINGS, environ=environ)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    engine = make_engine(settings["DATABASE_URL"], f"{service}-purge", pool_size=1,
                         statement_timeout_ms=60_000)
    try:
        removed = purge(engine, targets(settings), settings["PURGE_BATCH_SIZE"])
    finally:
        engine.dispose()
    print(f"{service} purge: " + ", ".join(f"{count} {name}" for name, count in removed.items())
          + " removed", file=sys.stderr)
    return 0
