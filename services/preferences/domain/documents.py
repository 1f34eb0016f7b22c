"""One versioned document per customer, written by single-document compare-and-set.

The server has no multi-document transactions and needs none here: each write reads the
current document and version, computes the new body in Python (a replacement or a JSON
merge patch, then validation), and stores it with `replace_one` filtered on the version it
read. A concurrent writer makes that match nothing, and the write is recomputed on the
newer document, so two PATCHes of different fields both land. With If-Match the client
asked for one specific version, so a lost race is a 412 instead of a retry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Collection, Mapping

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from .errors import VersionMismatch, WriteContention
from ..merge_patch import apply_merge_patch, fill_defaults

MAX_ATTEMPTS = 50
Body = dict[str, Any]


@dataclass(frozen=True)
class DocumentKind:
    collection: str
    defaults: Mapping[str, Any]
    # Validates a complete body and returns it normalised; raises DocumentInvalid.
    validate: Callable[[Body], Body]
    # Adjusts a validated body given the previous one (server-owned fields).
    settle: Callable[[Body, Body], Body] = lambda new, _old: new


@dataclass(frozen=True)
class Versioned:
    body: Body
    version: int  # 0: nothing stored yet, the body is the defaults

    @property
    def etag(self) -> str:
        return f'"v{self.version}"'


def read_document(db: Database, kind: DocumentKind, customer_id: str) -> Versioned:
    stored = db[kind.collection].find_one({"customer_id": customer_id}, {"body": 1, "version": 1})
    if stored is None:
        return Versioned(fill_defaults({}, kind.defaults), 0)
    return Versioned(fill_defaults(stored["body"], kind.defaults), stored["version"])


def read_documents(db: Database, kind: DocumentKind, customer_ids: Collection[str]) -> dict[str, Versioned]:
    """read_document for many customers in one query: every id asked for has an answer."""
    found = {d["customer_id"]: d for d in db[kind.collection].find(
        {"customer_id": {"$in": list(customer_ids)}}, {"customer_id": 1, "body": 1, "version": 1})} \
        if customer_ids else {}
    return {c: Versioned(fill_defaults(found[c]["body"], kind.defaults), found[c]["version"]) if c in found
            else Versioned(fill_defaults({}, kind.defaults), 0) for c in customer_ids}


def replace_document(db: Database, kind: DocumentKind, customer_id: str, body: Body,
                     expected: Collection[int] | None = None) -> Versioned:
    """PUT: members left out take their default values."""
    return _write(db, kind, customer_id, lambda _current: body, expected)


def patch_document(db: Database, kind: DocumentKind, customer_id: str, patch: Body,
                   expected: Collection[int] | None = None) -> Versioned:
    """PATCH: a JSON merge patch on the current document; null resets a member."""
    return _write(db, kind, customer_id, lambda current: apply_merge_patch(current, patch),
                  expected)


def _write(db: Database, kind: DocumentKind, customer_id: str,
           change: Callable[[Body], Body], expected: Collection[int] | None) -> Versioned:
    collection = db[kind.collection]
    for _attempt in range(MAX_ATTEMPTS):
        current = read_document(db, kind, customer_id)
        if expected is not None and current.version not in expected:
            raise VersionMismatch()
        body = kind.validate(fill_defaults(change(current.body), kind.defaults))
        body = kind.settle(body, current.body)
        if body == current.body and current.version > 0:
            return current  # nothing changes: no new version
        new = Versioned(body, current.version + 1)
        stored = {"customer_id": customer_id, "version": new.version, "body": body,
                  "updated_at": datetime.now(timezone.utc)}
        if current.version == 0:
            try:
                collection.insert_one(stored)
                return new
            except DuplicateKeyError:
                continue  # another first write won; redo on top of it
        result = collection.replace_one(
            {"customer_id": customer_id, "version": current.version}, stored)
        if result.matched_count == 1:
            return new
    raise WriteContention()
