"""A transfer made by the bank's automation on a customer's behalf, exactly as the customer's
own `POST /api/v1/transfers` makes it: the same posting path (KYC, account status, risk,
funds), the same events, under an Idempotency-Key derived from what asks for it (a schedule
and its run date, a bill), so a run executed twice moves money once and replays its answer.

Unlike the HTTP path, every refusal is stored under the key, a 404 included: an automated
run is not retried by a client who could fix it, it is recorded as failed with its code.
Runs in the caller's transaction and does not commit.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from services.common.outbox_wiring import publish
from services.common.problems import Problem, problem_response

from ..ledger.errors import STATUS, LedgerError
from ..ledger.events import transfer_posted
from ..ledger.idempotency import claim, record, request_fingerprint
from ..ledger.transfers import Actor, post_transfer, post_transfer_to_iban
from ..money import to_minor

TRANSFERS_PATH = "/api/v1/transfers"


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def error_code(self) -> str | None:
        return None if self.ok else self.body.get("code", "error")

    @property
    def transfer_id(self) -> str | None:
        return self.body.get("id") if self.ok else None


def submit_transfer(app: Flask, session: Session, customer_id: str, request: dict[str, Any],
                    key: str) -> Outcome:
    """`request` is a transfer request body as the API takes it, already valid: from_account_id,
    to_account_id or to_iban + beneficiary_name, amount (a Decimal or decimal string), currency,
    description, optional category and merchant."""
    actor = Actor(customer_id=customer_id)
    fingerprint = request_fingerprint("POST", TRANSFERS_PATH, {k: str(v) for k, v in request.items()})
    stored = claim(session, actor.name, key, fingerprint)
    if stored is not None:
        return Outcome(stored.status_code, stored.body, replayed=True)
    try:
        with session.begin_nested():
            status, body, entry_id = transfer_action(app, session, actor, request)
    except LedgerError as error:
        status, body, entry_id = STATUS[type(error)], _problem(STATUS[type(error)], error.code,
                                                              error.detail, error.extra), None
    except Problem as problem:
        status, body, entry_id = problem.status, _problem(problem.status, problem.code, problem.detail,
                                                          problem.extra), None
    record(session, actor.name, key, status, body, entry_id)
    return Outcome(status, body, replayed=False)


def transfer_action(app: Flask, session: Session, actor: Actor, request: dict[str, Any]):
    """The customer's transfer: post it and publish transfer.posted; (201, body, entry id)."""
    from ..api.serialize import planned_transfer_json, rfc3339  # the wire shape, one place
    common = dict(from_account_id=request["from_account_id"],
                  amount=to_minor(request["amount"], request["currency"]), currency=request["currency"],
                  description=request.get("description") or "", category=request.get("category"),
                  request_id=request.get("request_id"), merchant=request.get("merchant"))
    external = None
    if request.get("to_iban"):
        entry, external = post_transfer_to_iban(session, actor, to_iban=request["to_iban"],
                                                beneficiary_name=request["beneficiary_name"], **common)
    else:
        entry = post_transfer(session, actor, to_account_id=request["to_account_id"], **common)
    publish(app, session, "transfer.posted", transfer_posted(entry, rfc3339(entry.created_at)))
    return 201, planned_transfer_json(entry, entry.created_at, external), entry.id


def _problem(status: int, code: str, detail: str, extra: dict) -> dict:
    return problem_response(status, code, detail, **extra).get_json()


def automation_key(kind: str, subject: uuid.UUID | str, day) -> str:
    """The Idempotency-Key of an automated transfer: one per (what, which, date)."""
    return f"{kind}:{subject}:{day.isoformat()}"
