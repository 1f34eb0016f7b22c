"""What one batch of events needs from MongoDB, read once for the whole batch.

The relay sends events in batches (services/common/outbox.py); applied one by one, each
event would ask MongoDB whether it was applied before and read the settings of each
customer it names: two to four round trips per event, most of this service's cost under
load. `prefetched(db, envelopes, settings_kind)` answers both for the whole batch with two
queries and holds the answers for the events of that batch (a context variable, so one
request's batch is never another's). A change of settings made while the batch is applied
(milliseconds) takes effect from the next batch.

The events' processed markers are written the same way: each event's handler runs as it
arrives and its marker waits in the batch (`pending`), and `settle` writes them all with one
insert_many once every event of the batch is received. That keeps the order the service
relies on (handler first, marker after: a crash in between is a redelivery the handler
absorbs) and duplicate detection exact, since the marker's unique index is still the last
word: an event whose marker another delivery wrote first is answered `duplicate`, and one
whose marker the store did not take is answered `retry`, so it comes again.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from pymongo.database import Database
from pymongo.errors import BulkWriteError, PyMongoError

from services.common.outbox import DUPLICATE, PROCESSED, RETRY

from .documents import DocumentKind, Versioned, read_documents

DUPLICATE_KEY = 11000


@dataclass
class Batch:
    event_ids: frozenset[str]
    processed: frozenset[str]
    settings: dict[str, Versioned] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> its marker

    def settle(self, db: Database, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write the pending markers at once; the results of the events whose marker lost a
        race become `duplicate`, of those the store did not take `retry`."""
        if not self.pending:
            return results
        lost, failed = self._write(db)
        settled = []
        for result in results:
            event_id = result.get("id")
            if event_id in failed and result["status"] in (PROCESSED, DUPLICATE):
                # A repeat of it in this batch said duplicate because of the unwritten marker.
                result = {"id": event_id, "status": RETRY, "detail": "the processed marker was not stored"}
            elif event_id in lost and result["status"] == PROCESSED:
                result = {"id": event_id, "status": DUPLICATE}
            settled.append(result)
        return settled

    def _write(self, db: Database) -> tuple[set[str], set[str]]:
        """(ids another delivery marked first, ids not marked now)."""
        markers = list(self.pending.values())
        try:
            db.processed_events.insert_many(markers, ordered=False)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            lost = {markers[e["index"]]["event_id"] for e in errors if e.get("code") == DUPLICATE_KEY}
            failed = {markers[e["index"]]["event_id"] for e in errors if e.get("code") != DUPLICATE_KEY}
            return lost, failed
        except PyMongoError:
            return set(), set(self.pending)  # not known which were taken: all come again
        return set(), set()


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
def prefetched(db: Database, envelopes: list[Mapping[str, Any]],
               settings_kind: DocumentKind) -> Iterator[Callable[[list[dict]], list[dict]]]:
    """The context of one batch; its value settles the batch's results (Batch.settle)."""
    ids = {str(e["id"]) for e in envelopes if isinstance(e, Mapping) and isinstance(e.get("id"), str)}
    customers = set().union(*(_customers(e) for e in envelopes if isinstance(e, Mapping)))
    processed = {d["event_id"] for d in db.processed_events.find({"event_id": {"$in": sorted(ids)}},
                                                                 {"event_id": 1, "_id": 0})}
    batch = Batch(frozenset(ids), frozenset(processed), read_documents(db, settings_kind, sorted(customers)))
    token = _current.set(batch)
    try:
        yield lambda results: batch.settle(db, results)
    finally:
        _current.reset(token)
