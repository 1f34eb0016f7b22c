"""Bank accounts: open, list, read, rename (optimistic), close, freeze and unfreeze.

`emit(event_type, data)` publishes to the outbox in the caller's transaction, so the ledger
hears of a change exactly when it commits.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ..account_types import DEFAULT_OVERDRAFT_LIMITS
from ..models import BankAccount
from ..money import format_amount
from ..numbers import DEFAULT_SORT_CODE, next_account_number
from . import audit
from .errors import AccountClosed, AccountFrozen, AccountNotEmpty, NotFound, StaleVersion

Emit = Callable[[str, dict], None]


def etag(account: BankAccount) -> str:
    return f'"v{account.version}"'


def open_account(session: Session, customer_id: uuid.UUID, account_type: str, currency: str,
                 nickname: str | None, actor: audit.Actor, emit: Emit,
                 sort_code: str = DEFAULT_SORT_CODE) -> BankAccount:
    account = BankAccount(id=uuid.uuid4(), customer_id=customer_id, number=next_account_number(session, sort_code),
                          type=account_type, currency=currency, nickname=nickname, status="active",
                          overdraft_limit=DEFAULT_OVERDRAFT_LIMITS[account_type], version=1)
    session.add(account)
    session.flush()
    session.refresh(account)  # created_at from the database clock
    emit("account.opened", {
        "account_id": str(account.id), "customer_id": str(customer_id), "currency": currency,
        "type": account_type, "overdraft_limit": format_amount(account.overdraft_limit, currency),
        "status": "active"})
    audit.record(session, actor, "account.opened", "account", account.id, customer_id,
                 after={"number": account.number, "type": account_type, "currency": currency,
                        "status": "active", "nickname": nickname})
    return account


def list_accounts(session: Session, customer_id: uuid.UUID, limit: int,
                  after: tuple[datetime, uuid.UUID] | None = None) -> tuple[list[BankAccount], BankAccount | None]:
    """A page of the customer's accounts, oldest first; returns the rows and the last one to continue from."""
    query = (select(BankAccount).where(BankAccount.customer_id == customer_id)
             .order_by(BankAccount.created_at, BankAccount.id).limit(limit + 1))
    if after is not None:
        query = query.where(tuple_(BankAccount.created_at, BankAccount.id) > tuple_(*after))
    rows = list(session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1]
    return rows, None


def get_account(session: Session, account_id: str, customer_id: uuid.UUID | None = None,
                lock: bool = False) -> BankAccount:
    """The account; another customer's is NotFound, exactly like one that does not exist."""
    try:
        key = uuid.UUID(account_id)
    except ValueError:
        raise NotFound() from None
    query = select(BankAccount).where(BankAccount.id == key)
    if customer_id is not None:
        query = query.where(BankAccount.customer_id == customer_id)
    if lock:
        query = query.with_for_update()
    account = session.scalars(query).first()
    if account is None:
        raise NotFound()
    return account


def rename(session: Session, customer_id: uuid.UUID, account_id: str, nickname: str | None,
           if_match: str, actor: audit.Actor) -> BankAccount:
    account = get_account(session, account_id, customer_id, lock=True)
    if not _matches(if_match, etag(account)):
        raise StaleVersion(etag(account))
    if account.status == "closed":
        raise AccountClosed()
    before = {"nickname": account.nickname}
    account.nickname = nickname
    _touch(account)
    audit.record(session, actor, "account.renamed", "account", account.id, account.customer_id,
                 before=before, after={"nickname": nickname})
    return account


def close_account(session: Session, customer_id: uuid.UUID, account_id: str, ledger_balance: Decimal,
                  ledger_held: Decimal, actor: audit.Actor, emit: Emit) -> BankAccount:
    """Close an account the ledger says is empty (balance and holds both zero)."""
    account = get_account(session, account_id, customer_id, lock=True)
    if account.status == "closed":
        raise AccountClosed()
    if account.status == "frozen":
        raise AccountFrozen()
    if ledger_balance != 0 or ledger_held != 0:
        raise AccountNotEmpty(format_amount(ledger_balance, account.currency))
    account.status = "closed"
    account.closed_at = datetime.now(timezone.utc)
    _touch(account)
    emit("account.closed", {"account_id": str(account.id), "customer_id": str(account.customer_id)})
    audit.record(session, actor, "account.closed", "account", account.id, account.customer_id,
                 before={"status": "active"}, after={"status": "closed"})
    return account


def set_status(session: Session, account_id: str, status: str, actor: audit.Actor, emit: Emit) -> BankAccount:
    """Freeze (status "frozen") or unfreeze (status "active"); a no-op when already there."""
    account = get_account(session, account_id, lock=True)
    if account.status == "closed":
        raise AccountClosed()
    if account.status == status:
        return account
    before = {"status": account.status}
    account.status = status
    _touch(account)
    emit("account.status_changed", {"account_id": str(account.id), "customer_id": str(account.customer_id),
                                    "status": status})
    audit.record(session, actor, "account.frozen" if status == "frozen" else "account.unfrozen", "account",
                 account.id, account.customer_id, before=before, after={"status": status})
    return account


def _touch(account: BankAccount) -> None:
    account.version += 1
    account.updated_at = datetime.now(timezone.utc)


def _matches(if_match: str, current: str) -> bool:
    candidates = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    return "*" in candidates or current in candidates
