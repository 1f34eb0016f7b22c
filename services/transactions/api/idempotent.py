"""Money writes under an Idempotency-Key: claim, act, store the answer, commit, all at once."""
from __future__ import annotations

import uuid
from typing import Callable

from flask import Response, json, request
from sqlalchemy.orm import Session

from services.common.problems import Problem
from services.common.sql import request_session

from ..ledger.idempotency import claim, record, request_fingerprint

HEADER = "Idempotency-Key"
# action(session) -> (status, body, resource id); it runs in the key's transaction.
Action = Callable[[Session], tuple[int, dict, uuid.UUID | None]]


def required_key() -> str:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise Problem(400, "idempotency_key_required", f"Money writes need an {HEADER} header.")
    if len(key) > 255:
        raise Problem(400, "idempotency_key_invalid", f"{HEADER} is at most 255 characters.")
    return key


def idempotent_write(scope: str, action: Action) -> Response:
    key = required_key()
    session = request_session()
    fingerprint = request_fingerprint(request.method, request.path, request.get_json(silent=True) or {})
    stored = claim(session, scope, key, fingerprint)
    if stored is not None:
        session.rollback()
        return _json(stored.body, stored.status_code, replayed=True)
    status, body, resource_id = action(session)
    record(session, scope, key, status, body, resource_id)
    session.commit()
    return _json(body, status, replayed=False)


def _json(body: dict, status: int, replayed: bool) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    return response
