"""Idempotency-Keys for the books' writes (journal entries, their post and void, closing a
period), in the ledger's idempotency_keys table under a scope of their own ("books:<actor>").

Same rules as the money writes (api/idempotent.py): the key is claimed in the write's own
transaction, a replay answers the stored status and body, another body under the key is 422
`idempotency_key_reused`, a concurrent twin waits on the claim and then replays. A refusal
for the object's state (409: invalid_state, period_closed, period_overlaps, ...) is stored
like a success; validation errors (422) and 404 are not, so the client may fix and resend.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common.errors import Problem

STORED_STATUSES = frozenset({409})


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps({"method": method, "path": path, "body": body}, sort_keys=True,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(session: Session, scope: str, key: str | None, request_hash: str,
             action: Callable[[Session], tuple[int, dict]]) -> Outcome:
    """Run `action` (status, body) at most once per key and commit; without a key just once."""
    if key is None:
        status, body = action(session)
        session.commit()
        return Outcome(status, body, False)
    scope = f"books:{scope}"
    claimed = session.execute(text(
        "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (:scope, :key, :hash) "
        "ON CONFLICT (scope, key) DO NOTHING RETURNING key"),
        {"scope": scope, "key": key, "hash": request_hash}).first()
    if claimed is None:
        row = session.execute(text(
            "SELECT request_hash, status_code, response_body FROM idempotency_keys "
            "WHERE scope = :scope AND key = :key"), {"scope": scope, "key": key}).one()
        session.rollback()
        if row.request_hash != request_hash:
            raise Problem(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request.")
        if row.status_code is None:
            raise Problem(409, "conflict", "A request with this Idempotency-Key is still in progress.")
        return Outcome(row.status_code, row.response_body, True)
    try:
        with session.begin_nested():
            status, body = action(session)
    except Problem as error:
        if error.status not in STORED_STATUSES:
            raise
        status, body = error.status, error.body()
    session.execute(text(
        "UPDATE idempotency_keys SET status_code = :status, response_body = CAST(:body AS jsonb) "
        "WHERE scope = :scope AND key = :key"),
        {"status": status, "body": json.dumps(body), "scope": scope, "key": key})
    session.commit()
    return Outcome(status, body, False)
