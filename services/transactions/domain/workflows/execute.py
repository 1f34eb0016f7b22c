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
from decimal import Decimal
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.common.amounts import to_minor
from services.common.errors import DomainError, problem_body
from services.common.outbox import publish

from ..ledger.events import transfer_posted, transfer_risk
from ..ledger.idempotency import claim, record, request_fingerprint
from ..ledger.transfers import Actor, post_transfer, post_transfer_to_iban
from ..publishing import App
from ..risk.reviews import open_review
from ..risk.screen import Judged, Screen, Screened, record_decision

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


def submit_transfer(app: App, session: Session, customer_id: str, request: dict[str, Any],
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
    except DomainError as error:
        status, body, entry_id = error.status, error.body(), None
    record(session, actor.name, key, status, body, entry_id)
    return Outcome(status, body, replayed=False)


def transfer_action(app: App, session: Session, actor: Actor, request: dict[str, Any]):
    """The customer's transfer, judged by the risk rules (risk/screen.py): posted (maybe
    flagged) 201, held for review 202, or refused 422 transfer_rejected; each with its
    events. (status, body, the transfer's id or None)."""
    from ...api.serialize import planned_transfer_json, rfc3339  # the wire shape, one place
    screen = Screen()
    try:
        entry, external = post_request(session, actor, request, screen=screen)
    except Screened as stopped:
        return _stopped(app, session, actor, request, stopped.judged)
    screen.posted(session, entry.id)
    verdict = screen.verdict
    publish(app, session, "transfer.posted", transfer_posted(entry, rfc3339(entry.created_at), verdict.rules))
    if verdict.outcome == "flag":
        publish(app, session, "transfer.flagged", transfer_risk(entry.id, screen.judged.customer_id,
                                                                entry.from_account_id, entry.amount, entry.currency,
                                                                verdict.rules))
    body = planned_transfer_json(entry, entry.created_at, external)
    body["risk"] = {"outcome": verdict.outcome, "rules": list(verdict.rules)}
    return 201, body, entry.id


def post_request(session: Session, actor: Actor, request: dict[str, Any], *, screen: Screen | None = None,
                 entry_id: uuid.UUID | None = None):
    """Post a transfer request body (API shape); (entry, external state or None)."""
    common = dict(from_account_id=request["from_account_id"],
                  amount=to_minor(Decimal(str(request["amount"])), request["currency"]), currency=request["currency"],
                  description=request.get("description") or "", category=request.get("category"),
                  request_id=request.get("request_id"), merchant=request.get("merchant"),
                  expected_fx_rate=_rate(request.get("expected_fx_rate")), screen=screen, entry_id=entry_id)
    if request.get("to_iban"):
        return post_transfer_to_iban(session, actor, to_iban=request["to_iban"],
                                     beneficiary_name=request["beneficiary_name"], **common)
    return post_transfer(session, actor, to_account_id=request["to_account_id"], **common), None


def _rate(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _stopped(app: App, session: Session, actor: Actor, request: dict[str, Any], judged: Judged):
    """Held for review (the amount on hold) or rejected: recorded, told, answered."""
    verdict = judged.verdict
    if verdict.outcome == "review":
        review = open_review(session, actor, request, judged)
        record_decision(session, review.transfer_id, judged)
        publish(app, session, "transfer.review", transfer_risk(
            review.transfer_id, judged.customer_id, judged.source_id, judged.amount, judged.currency, verdict.rules,
            review_id=str(review.id)))
        from ...api.serialize import pending_review_json
        return 202, pending_review_json(review), review.transfer_id
    transfer_id = uuid.uuid4()
    record_decision(session, transfer_id, judged)
    publish(app, session, "transfer.rejected", transfer_risk(
        transfer_id, judged.customer_id, judged.source_id, judged.amount, judged.currency, verdict.rules))
    return 422, problem_body(422, "transfer_rejected", "The bank's risk rules refuse this transfer.",
                             rules=list(verdict.rules), transfer_id=str(transfer_id)), None


def automation_key(kind: str, subject: uuid.UUID | str, day) -> str:
    """The Idempotency-Key of an automated transfer: one per (what, which, date)."""
    return f"{kind}:{subject}:{day.isoformat()}"
