"""Holds (card authorisations): money reserved on an account without posting, then captured
(posted to the bank's settlement account in the hold's currency, where the card network
settles), released, or expired.

The database keeps `ledger_accounts.held` equal to the sum of the account's active holds
(migration 0009: a trigger recomputes it on every change of a hold and refuses any other
change), and `balance - held >= -overdraft_limit` by CHECK, so a hold past what the account
can spend cannot exist whatever the app does.

Expiry, without a clock-driven job being the only source of truth:
- a write on an account (a transfer, a hold, a capture, a snapshot) locks it and then turns
  its due holds to `expired` in the same transaction (ledger/accounts.py
  lock_accounts_in_order), so writes see `held` without them and the CHECK agrees;
- reads (`available_balance`, the hold itself) treat an active hold past expires_at as
  expired already (`shown_status`, accounts.get_accounts), whether or not anything ran;
- `expire_due_holds` (the `expire-holds` command) expires the rest, account by account
  under the same lock order (account first, then its holds), so it never deadlocks with a
  transfer.
Every state change locks the account, then the hold: a capture and a release (or two
captures) of one hold serialize, and exactly one finds it active.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, text, tuple_, update
from sqlalchemy.orm import Session

from ...models import holds, ledger_accounts
from .accounts import ensure_settlement_account, lock_accounts_in_order
from .errors import (CaptureTooLarge, CurrencyMismatch, HoldNotActive, InsufficientFunds, InvalidState,
                     NotFound)
from .posting import PlannedEntry, plan_entry, write_entries
from .transfers import Actor

STATUSES = ("active", "captured", "released", "expired")

# What a reader sees: an active hold past its expiry is expired, whether or not it was marked.
shown_status = case(
    (and_(holds.c.status == "active", holds.c.expires_at <= func.now()), "expired"),
    else_=holds.c.status,
).label("status")


@dataclass(frozen=True)
class Hold:
    id: uuid.UUID
    account_id: str
    customer_id: str
    amount: int
    currency: str
    status: str
    captured_amount: int
    description: str
    merchant: str
    expires_at: datetime
    capture_entry_id: uuid.UUID | None
    created_at: datetime


_COLUMNS = [holds.c.id, holds.c.account_id, ledger_accounts.c.customer_id, holds.c.amount, holds.c.currency,
            shown_status, holds.c.captured_amount, holds.c.description, holds.c.merchant, holds.c.expires_at,
            holds.c.capture_entry_id, holds.c.created_at]


def _hold(row) -> Hold:
    values = dict(row._mapping)
    values["currency"] = values["currency"].strip()
    return Hold(**values)


def _select():
    return select(*_COLUMNS).join(ledger_accounts, ledger_accounts.c.id == holds.c.account_id)


def create_hold(session: Session, actor: Actor, *, account_id: str, amount: int, currency: str,
                expires_at: datetime, description: str = "", merchant: str = "") -> Hold:
    """Reserve `amount` on a customer account: 404 unknown, 409 frozen/closed, 422 another
    currency or past what the account can spend (balance - held + overdraft)."""
    accounts = lock_accounts_in_order(session, [account_id])
    account = accounts.get(account_id)
    if account is None or account.kind != "customer":
        raise NotFound(f"Account {account_id} does not exist.", account_id=account_id)
    account.ensure_usable()
    if account.currency != currency:
        raise CurrencyMismatch(f"Account {account_id} holds {account.currency}, not {currency}.",
                               account_id=account_id)
    if amount > account.available:
        raise InsufficientFunds(f"Account {account_id} cannot cover this hold.", account_id=account_id)
    hold_id = uuid.uuid4()
    session.execute(holds.insert().values(
        id=hold_id, account_id=account_id, amount=amount, currency=currency, expires_at=expires_at,
        description=description, merchant=merchant, created_by=actor.name))
    return get_hold(session, actor, hold_id)


def get_hold(session: Session, actor: Actor, hold_id: uuid.UUID) -> Hold:
    """Admins read any hold, customers their own; another customer's is 404."""
    row = session.execute(_select().where(holds.c.id == hold_id)).first()
    if row is None or not (actor.is_admin or row.customer_id == actor.customer_id):
        raise NotFound(f"Hold {hold_id} does not exist.")
    return _hold(row)


def list_holds(session: Session, actor: Actor, *, limit: int, account_id: str | None = None,
               status: str | None = None, after: tuple[datetime, uuid.UUID] | None = None
               ) -> tuple[list[Hold], tuple[datetime, uuid.UUID] | None]:
    """Newest first, keyset on (created_at, id); `status` filters what a reader sees."""
    query = _select()
    if not actor.is_admin:
        query = query.where(ledger_accounts.c.customer_id == actor.customer_id)
    if account_id is not None:
        query = query.where(holds.c.account_id == account_id)
    if status == "active":
        query = query.where(holds.c.status == "active", holds.c.expires_at > func.now())
    elif status == "expired":
        query = query.where(or_(holds.c.status == "expired",
                                and_(holds.c.status == "active", holds.c.expires_at <= func.now())))
    elif status is not None:
        query = query.where(holds.c.status == status)
    if after is not None:
        query = query.where(tuple_(holds.c.created_at, holds.c.id) < tuple_(*after))
    rows = session.execute(query.order_by(holds.c.created_at.desc(), holds.c.id.desc()).limit(limit + 1)).all()
    found = [_hold(row) for row in rows[:limit]]
    return found, ((found[-1].created_at, found[-1].id) if len(rows) > limit else None)


def _locked_hold(session: Session, hold_id: uuid.UUID, extra_accounts=lambda currency: []):
    """Lock the hold's account (and `extra_accounts`) first, then the hold: the order every
    writer takes. Returns (accounts, the hold's row as stored, after lazy expiry)."""
    found = session.execute(select(holds.c.account_id, holds.c.currency).where(holds.c.id == hold_id)).first()
    if found is None:
        raise NotFound(f"Hold {hold_id} does not exist.")
    accounts = lock_accounts_in_order(session, [found.account_id, *extra_accounts(found.currency.strip())])
    row = session.execute(select(holds).where(holds.c.id == hold_id).with_for_update()).one()
    if session.execute(text("SELECT 1 FROM risk_reviews WHERE hold_id = :id"), {"id": hold_id}).first():
        # The money of a transfer under risk review: only the review's decision frees it.
        raise InvalidState(f"Hold {hold_id} keeps a transfer under risk review; the review decides it.",
                           hold_id=str(hold_id), hold_status=row.status)
    return accounts, row


def capture_hold(session: Session, actor: Actor, hold_id: uuid.UUID, amount: int | None = None,
                 request_id: str | None = None) -> tuple[PlannedEntry, uuid.UUID]:
    """Post `amount` (default all of it) of an active hold to the settlement account; the rest
    is released with it. Above the held amount: 422; not active (captured, released,
    expired): 409 hold_not_active."""
    accounts, row = _locked_hold(session, hold_id, lambda currency: [ensure_settlement_account(session, currency)])
    amount = row.amount if amount is None else amount
    if amount > row.amount:
        raise CaptureTooLarge("A capture is at most the held amount.",
                              errors={"amount": [f"At most the held amount ({row.amount} minor units)."]})
    if row.status != "active":
        raise HoldNotActive(f"Hold {hold_id} is {row.status}; only an active hold is captured.",
                            hold_id=str(hold_id), hold_status=row.status)
    currency = row.currency.strip()
    settlement = f"internal:settlement:{currency}"
    # Plan against the account as it is once the hold is gone, mark the hold captured (the
    # database releases it from `held`), then write the entry: the balance never drops while
    # the hold still counts.
    account = accounts[row.account_id]
    accounts[row.account_id] = replace(account, held=account.held - row.amount)
    entry = plan_entry(accounts, kind="card_capture", amount=amount, currency=currency,
                       from_account_id=row.account_id, to_account_id=settlement,
                       description=row.description or f"Card payment {row.merchant}".strip(),
                       initiated_by=actor.name, request_id=request_id, merchant=row.merchant or None)
    session.execute(update(holds).where(holds.c.id == hold_id).values(
        status="captured", captured_amount=amount, capture_entry_id=entry.id, updated_at=func.now()))
    created = write_entries(session, [entry], accounts)
    return replace(entry, created_at=created[entry.id]), hold_id


def release_hold(session: Session, actor: Actor, hold_id: uuid.UUID) -> Hold:
    """The funds are available again; a hold that is not active: 409 invalid_state."""
    _, row = _locked_hold(session, hold_id)
    if row.status != "active":
        raise InvalidState(f"Hold {hold_id} is {row.status}; only an active hold is released.",
                           hold_id=str(hold_id), hold_status=row.status)
    session.execute(update(holds).where(holds.c.id == hold_id).values(status="released", updated_at=func.now()))
    return get_hold(session, actor, hold_id)


_DUE_ACCOUNTS = text("""
    SELECT DISTINCT account_id FROM holds WHERE status = 'active' AND expires_at <= now()
     ORDER BY account_id LIMIT :limit
""")


def expire_due_holds(session_factory, batch: int = 100) -> int:
    """Mark every due hold expired (the `expire-holds` command); how many. One short
    transaction per batch of accounts, each account locked before its holds."""
    total = 0
    while True:
        with session_factory() as session, session.begin():
            ids = list(session.execute(_DUE_ACCOUNTS, {"limit": batch}).scalars())
            if not ids:
                return total
            before = session.execute(text(
                "SELECT count(*) FROM holds WHERE account_id = ANY(CAST(:ids AS text[])) AND status = 'active' "
                "AND expires_at <= now()"), {"ids": ids}).scalar_one()
            lock_accounts_in_order(session, ids)  # expires them, under the account locks
            total += before
