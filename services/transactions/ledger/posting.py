"""Posting journal entries: plan in memory against locked accounts, then write in bulk.

A single transfer and a batch of a thousand take the same path: the accounts are locked
in id order first, each entry is planned (rules checked, legs and running balances
computed) against the locked rows, and all planned entries are written with a handful of
statements. The database re-checks what matters at commit (balanced entries, overdraft
limits), so a bug here cannot post an unbalanced ledger.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterable

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from ..models import journal_entries, ledger_accounts, postings
from .accounts import LedgerAccount
from .errors import CurrencyMismatch, InsufficientFunds, NotFound, SameAccount


@dataclass(frozen=True)
class Leg:
    account_id: str
    customer_id: str | None
    amount: int           # signed minor units: negative leaves the account
    currency: str
    balance_after: int
    available_after: int
    category: str | None = None


@dataclass(frozen=True)
class PlannedEntry:
    id: uuid.UUID
    kind: str
    amount: int
    currency: str
    description: str
    category: str | None
    from_account_id: str
    to_account_id: str
    initiated_by: str | None
    reverses_entry_id: uuid.UUID | None
    request_id: str | None
    legs: tuple[Leg, ...] = field(default_factory=tuple)


def plan_entry(accounts: dict[str, LedgerAccount], *, kind: str, amount: int, currency: str,
               from_account_id: str, to_account_id: str, description: str = "",
               category: str | None = None, initiated_by: str | None = None,
               reverses_entry_id: uuid.UUID | None = None, request_id: str | None = None,
               check_status: bool = True) -> PlannedEntry:
    """Check the rules for moving `amount` and update `accounts` (the locked rows) in place."""
    if from_account_id == to_account_id:
        raise SameAccount("The source and destination accounts are the same.")
    source = accounts.get(from_account_id)
    target = accounts.get(to_account_id)
    if source is None:
        raise NotFound(f"Account {from_account_id} does not exist.", account_id=from_account_id)
    if target is None:
        raise NotFound(f"Account {to_account_id} does not exist.", account_id=to_account_id)
    if check_status:
        source.ensure_usable()
        target.ensure_usable()
    if source.currency != currency:
        raise CurrencyMismatch(f"Account {source.id} holds {source.currency}, not {currency}.",
                               account_id=source.id)
    if target.currency != currency:
        raise CurrencyMismatch(
            f"Account {target.id} holds {target.currency}; transfers between currencies are not "
            f"supported yet.", account_id=target.id)
    if not source.may_go_negative and amount > source.available:
        raise InsufficientFunds(f"Account {source.id} cannot cover this amount.", account_id=source.id)

    source = replace(source, balance=source.balance - amount)
    target = replace(target, balance=target.balance + amount)
    accounts[source.id] = source
    accounts[target.id] = target
    legs = (
        Leg(source.id, source.customer_id, -amount, currency, source.balance, source.available_balance,
            category),
        Leg(target.id, target.customer_id, amount, currency, target.balance, target.available_balance),
    )
    return PlannedEntry(uuid.uuid4(), kind, amount, currency, description, category, from_account_id,
                        to_account_id, initiated_by, reverses_entry_id, request_id, legs)


def write_entries(session: Session, entries: list[PlannedEntry],
                  accounts: dict[str, LedgerAccount]) -> dict[uuid.UUID, datetime]:
    """Insert the planned entries and their postings, store the new balances; returns created_at by entry."""
    if not entries:
        return {}
    created = session.execute(insert(journal_entries).returning(journal_entries.c.id, journal_entries.c.created_at), [
        {"id": e.id, "kind": e.kind, "amount": e.amount, "currency": e.currency,
         "description": e.description, "category": e.category, "from_account_id": e.from_account_id,
         "to_account_id": e.to_account_id, "initiated_by": e.initiated_by,
         "reverses_entry_id": e.reverses_entry_id, "request_id": e.request_id}
        for e in entries
    ])
    session.execute(insert(postings), [
        {"entry_id": e.id, "account_id": leg.account_id, "amount": leg.amount, "currency": leg.currency,
         "balance_after": leg.balance_after, "category": leg.category}
        for e in entries for leg in e.legs
    ])
    touched = {leg.account_id for e in entries for leg in e.legs}
    _store_balances(session, [accounts[account_id] for account_id in sorted(touched)])
    return {row.id: row.created_at for row in created}


def _store_balances(session: Session, changed: Iterable[LedgerAccount]) -> None:
    statement = (
        update(ledger_accounts)
        .where(ledger_accounts.c.id == bindparam("account_id"))
        .values(balance=bindparam("new_balance"), version=ledger_accounts.c.version + 1)
    )
    session.connection().execute(statement, [{"account_id": a.id, "new_balance": a.balance}
                                             for a in changed])
