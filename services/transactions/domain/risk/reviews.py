"""The review queue: a transfer a `review` rule stopped waits, its amount on hold, until an
admin decides (API.md "Risk: rules and reviews").

- open: a hold for the amount on the source (so the customer cannot spend it meanwhile;
  without the funds for it the transfer is refused insufficient_funds, as API.md says), the
  request as the customer made it, the rules hit;
- approve: the hold is released and the transfer posts under the id the customer was given,
  through the same posting path with the checks of the moment (a frozen or closed account,
  a lack of funds still refuse, and the review stays open) but not the rules again;
- reject: the hold is released, nothing posts.
A decision is final: the review row is locked first, so of two concurrent decisions one
finds it open and the other answers 409 invalid_state (and the database refuses a second
decision by trigger, risk_reviews_guard). Both carry the admin's name and time.
Lock order: the review, then the accounts (in id order), then the hold, like every writer.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..ledger.accounts import lock_accounts_in_order
from ..ledger.errors import InvalidState, NotFound
from ..ledger.holds import create_hold
from ..ledger.transfers import Actor
from .rules import Verdict
from .screen import Judged, remember

HOLD_DAYS = 30   # a review undecided for a month frees the money (the hold expires)
STATUSES = ("open", "approved", "rejected")


@dataclass(frozen=True)
class Review:
    id: uuid.UUID
    transfer_id: uuid.UUID
    customer_id: str
    from_account_id: str
    amount: int
    currency: str
    rules: tuple[str, ...]
    request: dict[str, Any]
    hold_id: uuid.UUID
    status: str
    decided_by: str | None
    decided_at: datetime | None
    entry_id: uuid.UUID | None
    created_at: datetime


def _review(row) -> Review:
    values = dict(row._mapping)
    values["currency"] = values["currency"].strip()
    values["rules"] = tuple(values["rules"])
    return Review(**values)


_COLUMNS = ("id, transfer_id, customer_id, from_account_id, amount, currency, rules, request, hold_id, status, "
            "decided_by, decided_at, entry_id, created_at")


def open_review(session: Session, actor: Actor, request: dict[str, Any], judged: Judged) -> Review:
    hold = create_hold(session, actor, account_id=judged.source_id, amount=judged.amount, currency=judged.currency,
                       expires_at=datetime.now(timezone.utc) + timedelta(days=HOLD_DAYS),
                       description="Held for risk review", merchant="")
    row = session.execute(text(
        f"INSERT INTO risk_reviews (id, transfer_id, customer_id, from_account_id, amount, currency, rules, "
        f"request, hold_id) VALUES (:id, :transfer_id, :customer_id, :source, :amount, :currency, :rules, "
        f"CAST(:request AS jsonb), :hold_id) RETURNING {_COLUMNS}"),
        {"id": uuid.uuid4(), "transfer_id": uuid.uuid4(), "customer_id": judged.customer_id,
         "source": judged.source_id, "amount": judged.amount, "currency": judged.currency,
         "rules": list(judged.verdict.rules), "hold_id": hold.id,
         # what the rules judged, so an approval remembers the payee it paid
         "request": _json({**request, "payee": judged.payee, "country": judged.country})}).one()
    return _review(row)


def _json(request: dict[str, Any]) -> str:
    return json.dumps({name: (str(value) if isinstance(value, Decimal) else value)
                       for name, value in request.items()})


def get_review(session: Session, review_id: uuid.UUID, *, lock: bool = False) -> Review:
    row = session.execute(text(f"SELECT {_COLUMNS} FROM risk_reviews WHERE id = :id"
                               + (" FOR UPDATE" if lock else "")), {"id": review_id}).first()
    if row is None:
        raise NotFound(f"Review {review_id} does not exist.")
    return _review(row)


def review_of_transfer(session: Session, transfer_id: uuid.UUID) -> Review | None:
    row = session.execute(text(f"SELECT {_COLUMNS} FROM risk_reviews WHERE transfer_id = :id"),
                          {"id": transfer_id}).first()
    return None if row is None else _review(row)


def list_reviews(session: Session, *, status: str | None, limit: int,
                 after: tuple[datetime, uuid.UUID] | None) -> tuple[list[Review], tuple | None]:
    """Oldest first (a queue), keyset on (created_at, id)."""
    where, params = [], {"limit": limit + 1}
    if status is not None:
        where.append("status = :status")
        params["status"] = status
    if after is not None:
        where.append("(created_at, id) > (:after_at, :after_id)")
        params.update(after_at=after[0], after_id=after[1])
    rows = session.execute(text(
        f"SELECT {_COLUMNS} FROM risk_reviews {'WHERE ' + ' AND '.join(where) if where else ''} "
        f"ORDER BY created_at, id LIMIT :limit"), params).all()
    found = [_review(row) for row in rows[:limit]]
    return found, ((found[-1].created_at, found[-1].id) if len(rows) > limit else None)


# post(session, actor, request, entry_id) -> (entry, external state or None): the posting path
Post = Callable[[Session, Actor, dict[str, Any], uuid.UUID], tuple[Any, Any]]


def approve_review(session: Session, admin: Actor, review_id: uuid.UUID, post: Post):
    """Post the held transfer; (review, entry, external)."""
    review = _decidable(session, review_id)
    _release(session, review)
    customer = Actor(customer_id=review.customer_id)
    entry, external = post(session, customer, review.request, review.transfer_id)
    remember(session, _judged(review))
    return _decide(session, review, admin, "approved", entry.id), entry, external


def reject_review(session: Session, admin: Actor, review_id: uuid.UUID) -> Review:
    review = _decidable(session, review_id)
    _release(session, review)
    return _decide(session, review, admin, "rejected", None)


def _decidable(session: Session, review_id: uuid.UUID) -> Review:
    review = get_review(session, review_id, lock=True)
    if review.status != "open":
        raise InvalidState(f"Review {review_id} is {review.status}; a decision is final.",
                           review_status=review.status)
    internal_payee = review.request["payee"] if review.request.get("country") is None else None
    accounts = [review.from_account_id] + ([internal_payee] if internal_payee else [])
    lock_accounts_in_order(session, accounts)
    return review


def _release(session: Session, review: Review) -> None:
    # Still active unless it expired (HOLD_DAYS): then the money is free already.
    session.execute(text("UPDATE holds SET status = 'released', updated_at = now() "
                         "WHERE id = :id AND status = 'active'"), {"id": review.hold_id})


def _decide(session: Session, review: Review, admin: Actor, status: str, entry_id: uuid.UUID | None) -> Review:
    row = session.execute(text(
        f"UPDATE risk_reviews SET status = :status, decided_by = :by, decided_at = now(), entry_id = :entry "
        f"WHERE id = :id RETURNING {_COLUMNS}"),
        {"status": status, "by": admin.name, "entry": entry_id, "id": review.id}).one()
    return _review(row)


def _judged(review: Review) -> Judged:
    return Judged(review.customer_id, review.from_account_id, review.request["payee"], review.request.get("country"),
                  review.amount, review.currency, Verdict("review", review.rules))

