"""What one batch of events needs from MongoDB, read once for the whole batch.

The relay sends events in batches (services/common/outbox.py); applied one by one, each
event would ask MongoDB whether it was applied before and read the settings of each
customer it names: two to four round trips per event, most of this service's cost under
load. `prefetched(db, envelopes, settings_kind)` answers both for the whole batch with two
queries and holds the answers for the events of that batch (a context variable, so one
request's batch is never another's). A change of settings made while the batch is applied
(milliseconds) takes effect from the next batch; duplicate detection stays exact, since the
processed-events insert is still the last word (its unique index).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from pymongo.database import Database

from .documents import DocumentKind, Versioned, read_documents


@dataclass
class Batch:
    event_ids: frozenset[str]
    processed: frozenset[str]
    settings: dict[str, Versioned] = field(default_factory=dict)


_current: ContextVar[Batch | None] = ContextVar("event_batch", default=None)


def current_batch() -> Batch | None:
    return _current.get()


def _customers(envelope: Mapping[str, Any]) -> set[str]:
    data = envelope.get("data")
    if not isinstance(data, dict):
        return set()
    named = {data.get("customer_id")}
    postings = data.get("postings")
    if isinstance(postings, list):
        named.update(p.get("customer_id") for p in postings if isinstance(p, dict))
    return {c for c in named if isinstance(c, str) and c}


@contextmanager
def prefetched(db: Database, envelopes: list[Mapping[str, Any]], settings_kind: DocumentKind) -> Iterator[Batch]:
    ids = {str(e["id"]) for e in envelopes if isinstance(e, Mapping) and isinstance(e.get("id"), str)}
    customers = set().union(*(_customers(e) for e in envelopes if isinstance(e, Mapping)))
    processed = {d["event_id"] for d in db.processed_events.find({"event_id": {"$in": sorted(ids)}},
                                                                 {"event_id": 1, "_id": 0})}
    batch = Batch(frozenset(ids), frozenset(processed), read_documents(db, settings_kind, sorted(customers)))
    token = _current.set(batch)
    try:
        yield batch
    finally:
        _current.reset(token)
