"""Money writes under an Idempotency-Key: claim, act, store the answer, commit, all at once.

API.md "Idempotency, completed": a write refused for a business reason (insufficient
funds, a frozen or closed account, KYC, a reversal not allowed, ...) is stored under its
key like a success and replayed for the key's lifetime, whatever changed since; the action
runs inside a savepoint so the refusal is stored without anything the action wrote.
Not stored, so the client may fix and resend under the same key: validation errors (the
schema answers them before the key is claimed), auth errors, a key used with another body,
and 404 (an account the ledger does not know yet may arrive). Every replay carries
`Idempotent-Replayed: true`.

A lock timeout, deadlock or serialization failure re-runs the whole unit (claim included)
a bounded number of times (services.common.transient.retry_transient); after that the
store error handler answers 503 with Retry-After.
"""
from __future__ import annotations

import re
import uuid
from typing import Callable

import marshmallow as ma
from flask import Response, json, request
from sqlalchemy.orm import Session

from services.common.transient import retry_transient
from services.common.errors import Problem
from services.common.fields import instance_of
from services.common.openapi import idempotency_key
from services.common.problems import MEDIA_TYPE
from services.common.sql import request_session

from ..domain.ledger.errors import LedgerError, stored_refusal
from ..domain.ledger.idempotency import claim, record, request_fingerprint

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
ATTEMPTS = 3
_CONTROL = re.compile("[\x00-\x1f\x7f]")
# For @blp.doc(parameters=...): the header as required_key() reads it.
IDEMPOTENCY_REQUIRED = [idempotency_key(required=True)]
IDEMPOTENCY_OPTIONAL = [idempotency_key(required=False)]
# action(session) -> (status, body, resource id); it runs in the key's transaction.
Action = Callable[[Session], tuple[int, dict, uuid.UUID | None]]


def read_key(required: bool) -> str | None:
    """The request's Idempotency-Key: stripped, 1-255 printable characters (None when absent
    and not required). services.common.openapi.idempotency_key documents the same rule."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        if required:
            raise Problem(400, "idempotency_key_required", f"This write needs an {HEADER} header.")
        return None
    if len(key) > 255 or _CONTROL.search(key):
        raise Problem(400, "idempotency_key_invalid", f"{HEADER} is at most 255 printable characters.")
    return key


def required_key() -> str:
    return read_key(required=True)


def idempotent_write(scope: str, action: Action, schema: type[ma.Schema]) -> Response:
    """`schema` is the operation's declared response schema (its @blp.response): a success is
    dumped through it before it is stored, so the first answer and every replay carry what
    the document says, byte for byte."""
    key = required_key()
    session = request_session()
    fingerprint = request_fingerprint(request.method, request.path, request.get_json(silent=True) or {})
    return retry_transient(lambda: _attempt(session, scope, key, fingerprint, _serialised(action, schema)),
                           attempts=ATTEMPTS, before_retry=session.rollback)


def _attempt(session: Session, scope: str, key: str, fingerprint: str, action: Action) -> Response:
    stored = claim(session, scope, key, fingerprint)
    if stored is not None:
        session.rollback()
        return _json(stored.body, stored.status_code, replayed=True)
    try:
        with session.begin_nested():
            status, body, resource_id = action(session)
    except LedgerError as error:
        if not stored_refusal(error):
            raise
        status, body, resource_id = error.status, error.body(), None
    record(session, scope, key, status, body, resource_id)
    session.commit()
    return _json(body, status, replayed=False)


def _json(body: dict, status: int, replayed: bool) -> Response:
    response = Response(json.dumps(body), status=status,
                        mimetype=MEDIA_TYPE if status >= 400 else "application/json")
    response.headers[REPLAYED] = "true" if replayed else "false"
    return response


def _serialised(action: Action, schema: type[ma.Schema]) -> Action:
    def run(session: Session):
        status, body, resource_id = action(session)
        return status, (instance_of(schema).dump(body) if status < 400 else body), resource_id
    return run


def optional_idempotent_write(scope: str, action: Action, schema: type[ma.Schema]) -> Response:
    """State changes (capture, release, settle, return) take an optional Idempotency-Key
    (API.md "State changes"): with one, exactly as idempotent_write; without, the action runs
    once in its own transaction (a refusal answers as the app's error handler does)."""
    if read_key(required=False):
        return idempotent_write(scope, action, schema)
    session = request_session()
    action = _serialised(action, schema)

    def attempt() -> Response:
        status, body, _ = action(session)
        session.commit()
        return _json(body, status, replayed=False)

    return retry_transient(attempt, attempts=ATTEMPTS, before_retry=session.rollback)
