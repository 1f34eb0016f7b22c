"""Bank accounts: open, list, read, rename (optimistic), close, freeze, unfreeze, credit limit.

`emit(event_type, data)` publishes to the outbox in the caller's transaction; every account
event carries the full snapshot with the account's version. Close, freeze, unfreeze and a
credit limit are also put to the ledger before the caller commits (interface 2), so they are
in force there when the API answers; the outbox event stays the durable record.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable, Protocol

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from services.common.amounts import format_amount

from ..account_types import CREDIT_NEEDS_KYC, MAX_OPEN_ACCOUNTS, OPEN_WITHOUT_KYC, OPENING_OVERDRAFT_LIMIT
from ..models import BankAccount, Customer
from ..numbers import DEFAULT_SORT_CODE, next_account_number
from . import audit
from .errors import (AccountClosed, AccountFrozen, AccountLimitReached, CreditNeedsKyc, KycRequired, NotFound,
                     StaleVersion)

Emit = Callable[[str, dict], None]


class LedgerPort(Protocol):
    """What the domain needs of the ledger (services/accounts/ledger.py, or a fake in tests)."""

    def put_account(self, snapshot: dict) -> dict: ...

    def put_customer(self, customer_id: str, kyc_status: str, version: int) -> dict: ...


def etag(account: BankAccount) -> str:
    return f'"v{account.version}"'


def snapshot(account: BankAccount) -> dict:
    """The account as every account event and ledger call carries it (interface 1)."""
    return {"account_id": str(account.id), "customer_id": str(account.customer_id), "number": account.number,
            "type": account.type, "currency": account.currency, "status": account.status,
            "overdraft_limit": format_amount(account.overdraft_limit, account.currency),
            "version": account.version}


def open_account(session: Session, customer_id: uuid.UUID, account_type: str, currency: str,
                 nickname: str | None, actor: audit.Actor, emit: Emit,
                 sort_code: str = DEFAULT_SORT_CODE) -> BankAccount:
    """Open an account at overdraft 0 (credit is an admin's decision, see set_overdraft_limit).

    The customer row is locked first, so the KYC rule and the open-account count hold
    against concurrent openings (the database trigger checks both again).
    """
    customer = session.get(Customer, customer_id, with_for_update=True)
    if customer is None:
        raise NotFound("customer")
    if account_type not in OPEN_WITHOUT_KYC and customer.kyc_status != "verified":
        raise KycRequired(f"Opening a {account_type} account needs a verified customer (KYC); "
                          f"until then only {' and '.join(OPEN_WITHOUT_KYC)} accounts can be opened.")
    open_count = session.scalar(select(func.count()).select_from(BankAccount).where(
        BankAccount.customer_id == customer_id, BankAccount.status != "closed"))
    if open_count >= MAX_OPEN_ACCOUNTS:
        raise AccountLimitReached(MAX_OPEN_ACCOUNTS)
    account = BankAccount(id=uuid.uuid4(), customer_id=customer_id, number=next_account_number(session, sort_code),
                          type=account_type, currency=currency, nickname=nickname, status="active",
                          overdraft_limit=OPENING_OVERDRAFT_LIMIT, version=1)
    session.add(account)
    session.flush()
    session.refresh(account)  # created_at from the database clock
    emit("account.opened", snapshot(account))
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


def close_account(session: Session, ledger: LedgerPort, customer_id: uuid.UUID, account_id: str,
                  actor: audit.Actor, emit: Emit) -> BankAccount:
    """Close an account; the ledger closes its side first and refuses (409 account_not_empty)
    while the balance or holds are not zero, so no deposit can slip in between."""
    account = get_account(session, account_id, customer_id, lock=True)
    if account.status == "closed":
        raise AccountClosed()
    if account.status == "frozen":
        raise AccountFrozen()
    _change(session, ledger, account, status="closed", closed_at=datetime.now(timezone.utc))
    emit("account.closed", snapshot(account))
    audit.record(session, actor, "account.closed", "account", account.id, account.customer_id,
                 before={"status": "active"}, after={"status": "closed"})
    return account


def set_status(session: Session, ledger: LedgerPort, account_id: str, status: str, actor: audit.Actor,
               emit: Emit) -> BankAccount:
    """Freeze (status "frozen") or unfreeze (status "active"); a no-op when already there."""
    account = get_account(session, account_id, lock=True)
    if account.status == "closed":
        raise AccountClosed()
    if account.status == status:
        return account
    before = {"status": account.status}
    _change(session, ledger, account, status=status)
    emit("account.status_changed", snapshot(account))
    audit.record(session, actor, "account.frozen" if status == "frozen" else "account.unfrozen", "account",
                 account.id, account.customer_id, before=before, after={"status": status})
    return account


def set_overdraft_limit(session: Session, ledger: LedgerPort, account_id: str, limit: Decimal,
                        actor: audit.Actor, emit: Emit) -> BankAccount:
    """An admin grants (or lowers) an account's credit line; a no-op when unchanged.

    Credit on a credit_card or loan needs a verified customer (409 kyc_required); the
    customer row is locked after the account's (the trigger's order), so a KYC change
    cannot interleave.
    """
    account = get_account(session, account_id, lock=True)
    if account.status == "closed":
        raise AccountClosed()
    if limit > 0 and account.type in CREDIT_NEEDS_KYC:
        customer = session.get(Customer, account.customer_id, with_for_update=True)
        if customer is None or customer.kyc_status != "verified":
            raise CreditNeedsKyc(f"A credit line on a {account.type} account needs a verified customer (KYC).")
    if account.overdraft_limit == limit:
        return account
    before = {"overdraft_limit": format_amount(account.overdraft_limit, account.currency)}
    _change(session, ledger, account, overdraft_limit=limit)
    after = {"overdraft_limit": format_amount(limit, account.currency)}
    emit("account.limit_changed", snapshot(account))
    audit.record(session, actor, "account.limit_changed", "account", account.id, account.customer_id,
                 before=before, after=after)
    return account


def _change(session: Session, ledger: LedgerPort, account: BankAccount, **changes) -> None:
    """Apply a change to the locked row (next version), let the database check it, then put
    the snapshot to the ledger.

    Flushed first, so a row the database refuses never reaches the ledger. If the ledger
    refuses or cannot be reached, the exception propagates and the request's transaction is
    rolled back: nothing changed on either side.
    """
    for name, value in changes.items():
        setattr(account, name, value)
    _touch(account)
    session.flush()
    ledger.put_account(snapshot(account))


def _touch(account: BankAccount) -> None:
    account.version += 1
    account.updated_at = datetime.now(timezone.utc)


def _matches(if_match: str, current: str) -> bool:
    candidates = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    return "*" in candidates or current in candidates
