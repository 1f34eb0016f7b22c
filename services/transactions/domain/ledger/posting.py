"""Posting journal entries: plan in memory against locked accounts, then write in bulk.

A single transfer and a batch of a thousand take the same path: the accounts are locked
in id order first, each entry is planned (rules checked, legs and running balances
computed) against the locked rows, and all planned entries are written with a handful of
statements. The database re-checks what matters at commit (balanced entries, overdraft
limits), so a bug here cannot post an unbalanced ledger.
"""
from __future__ import annotations

import uuid
from typing import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

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
    categorized_by: str | None = None   # request, rule or default (insights/categorize.py)


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
    created_at: datetime | None = None  # set once written: the database's clock decides it
    # The header of an entry of more than two postings (migration 0008): the source posts
    # -(amount + fee) in `currency`, the target +to_amount in to_currency (None: amount in
    # currency); the fee goes to the bank's fee income account, a conversion through its FX
    # clearing accounts.
    fee: int = 0
    to_amount: int | None = None
    to_currency: str | None = None
    fx_rate: Decimal | None = None
    merchant: str | None = None

    @property
    def received_amount(self) -> int:
        return self.amount if self.to_amount is None else self.to_amount

    @property
    def received_currency(self) -> str:
        return self.currency if self.to_currency is None else self.to_currency


def plan_entry(accounts: dict[str, LedgerAccount], *, kind: str, amount: int, currency: str,
               from_account_id: str, to_account_id: str, description: str = "",
               category: str | None = None, initiated_by: str | None = None,
               reverses_entry_id: uuid.UUID | None = None, request_id: str | None = None,
               check_status: bool = True, allow_frozen: bool = False,
               merchant: str | None = None, entry_id: uuid.UUID | None = None) -> PlannedEntry:
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
        source.ensure_usable(allow_frozen)
        target.ensure_usable(allow_frozen)
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
    return PlannedEntry(entry_id or uuid.uuid4(), kind, amount, currency, description, category, from_account_id,
                        to_account_id, initiated_by, reverses_entry_id, request_id, legs, merchant=merchant)


def plan_legs(accounts: dict[str, LedgerAccount], legs: list[tuple[str, int, str]], *, kind: str,
              amount: int, currency: str, from_account_id: str, to_account_id: str, fee: int = 0,
              to_amount: int | None = None, to_currency: str | None = None,
              fx_rate: Decimal | None = None, description: str = "", category: str | None = None,
              initiated_by: str | None = None, reverses_entry_id: uuid.UUID | None = None,
              request_id: str | None = None, allow_frozen: bool = False,
              merchant: str | None = None, entry_id: uuid.UUID | None = None) -> PlannedEntry:
    """An entry of any number of legs `(account id, signed minor units, currency)` against the
    locked `accounts`, updated in place: the customer accounts must be usable and every one
    that pays must cover its part (the bank's own accounts may go negative). The caller
    gives legs that balance per currency; the database refuses any that do not."""
    if from_account_id == to_account_id:
        raise SameAccount("The source and destination accounts are the same.")
    for account_id in {leg[0] for leg in legs}:
        if account_id not in accounts:
            raise NotFound(f"Account {account_id} does not exist.", account_id=account_id)
    for account_id in (from_account_id, to_account_id):
        accounts[account_id].ensure_usable(allow_frozen)
    for account_id, amount_, leg_currency in legs:
        account = accounts[account_id]
        if account.currency != leg_currency:
            raise CurrencyMismatch(f"Account {account_id} holds {account.currency}, not {leg_currency}.",
                                   account_id=account_id)
        if amount_ < 0 and not account.may_go_negative and -amount_ > account.available:
            raise InsufficientFunds(f"Account {account_id} cannot cover this amount.", account_id=account_id)
    planned: list[Leg] = []
    for account_id, amount_, leg_currency in legs:
        account = replace(accounts[account_id], balance=accounts[account_id].balance + amount_)
        accounts[account_id] = account
        planned.append(Leg(account_id, account.customer_id, amount_, leg_currency, account.balance,
                           account.available_balance, category if account_id == from_account_id else None))
    return PlannedEntry(entry_id or uuid.uuid4(), kind, amount, currency, description, category, from_account_id,
                        to_account_id, initiated_by, reverses_entry_id, request_id, tuple(planned),
                        fee=fee, to_amount=to_amount, to_currency=to_currency, fx_rate=fx_rate,
                        merchant=merchant)


def write_entries(session: Session, entries: list[PlannedEntry],
                  accounts: dict[str, LedgerAccount]) -> dict[uuid.UUID, datetime]:
    """Insert the planned entries and their postings, store the new balances; returns created_at by entry.

    Three statements whatever the number of entries: each takes its rows as arrays and
    unnests them, which keeps a 1,000-transfer batch to three round trips and three small
    SQL texts (a VALUES list of thousands of placeholders costs more to build than to run).
    """
    if not entries:
        return {}
    for hook in BEFORE_WRITE:
        entries = hook(session, entries)
    created = session.execute(_INSERT_ENTRIES, {
        "ids": [e.id for e in entries], "kinds": [e.kind for e in entries],
        "amounts": [e.amount for e in entries], "currencies": [e.currency for e in entries],
        "descriptions": [e.description for e in entries], "categories": [e.category for e in entries],
        "sources": [e.from_account_id for e in entries], "targets": [e.to_account_id for e in entries],
        "initiators": [e.initiated_by for e in entries], "reversed": [e.reverses_entry_id for e in entries],
        "request_ids": [e.request_id for e in entries], "fees": [e.fee for e in entries],
        "to_amounts": [e.to_amount for e in entries], "to_currencies": [e.to_currency for e in entries],
        "fx_rates": [e.fx_rate for e in entries], "merchants": [e.merchant for e in entries],
    })
    legs = [(e.id, leg) for e in entries for leg in e.legs]
    session.execute(_INSERT_POSTINGS, {
        "entries": [entry_id for entry_id, _ in legs], "accounts": [leg.account_id for _, leg in legs],
        "amounts": [leg.amount for _, leg in legs], "currencies": [leg.currency for _, leg in legs],
        "balances": [leg.balance_after for _, leg in legs], "categories": [leg.category for _, leg in legs],
        "categorized_by": [leg.categorized_by for _, leg in legs],
    })
    touched = sorted({leg.account_id for _, leg in legs})
    session.execute(_STORE_BALANCES, {"ids": touched, "balances": [accounts[a].balance for a in touched]})
    created_at = {row.id: row.created_at for row in created}
    written = [replace(entry, created_at=created_at[entry.id]) for entry in entries]
    for hook in AFTER_WRITE:
        hook(session, written, accounts)
    return created_at


# What else happens in the transaction of every posted entry, whatever path posted it:
# hook(session, entries, accounts). Rewards (workflows/rewards.py) add their earning here, so
# card spending earns points however it was posted (a transfer, an IBAN, a capture, a batch).
AFTER_WRITE: list[Callable[[Session, list[PlannedEntry], dict[str, LedgerAccount]], None]] = []
# What turns the planned entries into the ones written, before anything is: hook(session,
# entries) -> entries. Categories (insights/categorize.py) give each customer's line its
# category and categorized_by there.
BEFORE_WRITE: list[Callable[[Session, list[PlannedEntry]], list[PlannedEntry]]] = []


_INSERT_ENTRIES = text("""
    INSERT INTO journal_entries (id, kind, amount, currency, description, category, from_account_id,
                                 to_account_id, initiated_by, reverses_entry_id, request_id, fee,
                                 to_amount, to_currency, fx_rate, merchant)
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:kinds AS text[]), CAST(:amounts AS bigint[]),
                         CAST(:currencies AS text[]), CAST(:descriptions AS text[]),
                         CAST(:categories AS text[]), CAST(:sources AS text[]), CAST(:targets AS text[]),
                         CAST(:initiators AS text[]), CAST(:reversed AS uuid[]), CAST(:request_ids AS text[]),
                         CAST(:fees AS bigint[]), CAST(:to_amounts AS bigint[]), CAST(:to_currencies AS text[]),
                         CAST(:fx_rates AS numeric[]), CAST(:merchants AS text[]))
    RETURNING id, created_at
""")

# WITH ORDINALITY keeps the legs in the order they were planned, so posting ids (the
# statement's tie-breaker) follow it.
_INSERT_POSTINGS = text("""
    INSERT INTO postings (entry_id, account_id, amount, currency, balance_after, category, categorized_by)
    SELECT entry_id, account_id, amount, currency, balance_after, category, categorized_by
      FROM unnest(CAST(:entries AS uuid[]), CAST(:accounts AS text[]), CAST(:amounts AS bigint[]),
                  CAST(:currencies AS text[]), CAST(:balances AS bigint[]), CAST(:categories AS text[]),
                  CAST(:categorized_by AS text[]))
           WITH ORDINALITY AS leg(entry_id, account_id, amount, currency, balance_after, category,
                                  categorized_by, n)
     ORDER BY n
""")

_STORE_BALANCES = text("""
    UPDATE ledger_accounts AS a
       SET balance = new.balance, updated_at = now()
      FROM unnest(CAST(:ids AS text[]), CAST(:balances AS bigint[])) AS new(id, balance)
     WHERE a.id = new.id
""")
