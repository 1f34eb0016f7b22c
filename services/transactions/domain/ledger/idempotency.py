"""Idempotency keys for money writes, scoped per customer.

The key row is claimed with INSERT ... ON CONFLICT DO NOTHING in the same transaction as
the write it guards. A second request with the same key waits on that insert until the
first commits (then replays its stored response) or rolls back (then goes ahead itself),
so two concurrent requests with one key make one effect. A business refusal is stored
like a success (api/idempotent.py); a 404 or an error the request never got past keeps no
key, so a client may retry it.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ...models import idempotency_keys
from .errors import IdempotencyKeyReused, LedgerError


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


class IdempotencyInFlight(LedgerError):
    status, code = 409, "conflict"


def request_fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    canonical = json.dumps({"method": method, "path": path, "body": body}, sort_keys=True,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(session: Session, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
    """None when this request owns the key now; the stored response when it is a replay."""
    params = {"key_scope": scope, "key_value": key}
    if session.execute(_CLAIM, {**params, "key_hash": fingerprint}).first() is not None:
        return None
    row = session.execute(_STORED, params).one()
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    if row.status_code is None:  # cannot happen once the first request committed
        raise IdempotencyInFlight("A request with this Idempotency-Key is still in progress.")
    return StoredResponse(row.status_code, row.response_body)


def record(session: Session, scope: str, key: str, status_code: int, body: dict[str, Any],
           resource_id: uuid.UUID | None = None) -> None:
    session.execute(_RECORD, {"key_scope": scope, "key_value": key, "answer_status": status_code,
                              "answer_body": body, "answer_resource": resource_id})


# Built once, executed with parameters: the single transfer's path runs claim and record on
# every request, and building the statements per call was a third of their CPU. (Parameter
# names may not be column names in an INSERT or UPDATE.)
_KEY = (idempotency_keys.c.scope == bindparam("key_scope"), idempotency_keys.c.key == bindparam("key_value"))
_CLAIM = (insert(idempotency_keys)
          .values(scope=bindparam("key_scope"), key=bindparam("key_value"), request_hash=bindparam("key_hash"))
          .on_conflict_do_nothing(index_elements=[idempotency_keys.c.scope, idempotency_keys.c.key])
          .returning(idempotency_keys.c.key))
_STORED = select(idempotency_keys.c.request_hash, idempotency_keys.c.status_code,
                 idempotency_keys.c.response_body).where(*_KEY)
_RECORD = update(idempotency_keys).where(*_KEY).values(
    status_code=bindparam("answer_status"),
    response_body=bindparam("answer_body", type_=idempotency_keys.c.response_body.type),
    resource_id=bindparam("answer_resource", type_=idempotency_keys.c.resource_id.type))


@dataclass(frozen=True)
class Claims:
    """The outcome of claiming many keys at once."""

    mine: set[str]                     # claimed now: go ahead
    stored: dict[str, StoredResponse]  # answered before with the same request: replay
    reused: set[str]                   # used before with a different request: refuse


def claim_many(session: Session, scope: str, fingerprints: dict[str, str]) -> Claims:
    if not fingerprints:
        return Claims(set(), {}, set())
    # Sorted: two batches sharing keys take their row locks in one order, never in a cycle.
    keys = sorted(fingerprints)
    mine = set(session.execute(_CLAIM_MANY, {
        "scope": scope, "keys": keys, "hashes": [fingerprints[k] for k in keys]}).scalars())
    stored: dict[str, StoredResponse] = {}
    reused: set[str] = set()
    existing = [key for key in keys if key not in mine]
    if existing:
        rows = session.execute(
            select(idempotency_keys.c.key, idempotency_keys.c.request_hash, idempotency_keys.c.status_code,
                   idempotency_keys.c.response_body)
            .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key.in_(existing))
        ).all()
        for row in rows:
            if row.request_hash != fingerprints[row.key]:
                reused.add(row.key)
            else:
                stored[row.key] = StoredResponse(row.status_code, row.response_body)
    return Claims(mine, stored, reused)


def record_many(session: Session, scope: str, answers: list[tuple[str, int, dict[str, Any], uuid.UUID]]) -> None:
    if not answers:
        return
    session.execute(_RECORD_MANY, {
        "scope": scope, "keys": [key for key, *_ in answers], "statuses": [status for _, status, *_ in answers],
        "bodies": [json.dumps(body) for _, _, body, _ in answers], "resources": [r for *_, r in answers]})


# Arrays unnested rather than a VALUES list per key: see posting.write_entries.
_CLAIM_MANY = text("""
    INSERT INTO idempotency_keys (scope, key, request_hash)
    SELECT :scope, key, hash FROM unnest(CAST(:keys AS text[]), CAST(:hashes AS text[])) AS claim(key, hash)
     ORDER BY key
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING key
""")

_RECORD_MANY = text("""
    UPDATE idempotency_keys AS k
       SET status_code = answer.status, response_body = answer.body, resource_id = answer.resource
      FROM unnest(CAST(:keys AS text[]), CAST(:statuses AS integer[]), CAST(:bodies AS jsonb[]),
                  CAST(:resources AS uuid[])) AS answer(key, status, body, resource)
     WHERE k.scope = :scope AND k.key = answer.key
""")
