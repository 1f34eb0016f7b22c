"""Transfers, deposits and reversals: each one journal entry posted in one local transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from services.common.errors import Problem

from ..books.pricing import FxQuote, quote_fx
from ...models import external_transfers, journal_entries, ledger_accounts, postings
from .account_sync import is_verified
from .accounts import ensure_bank_account, ensure_settlement_account, lock_accounts_in_order
from .errors import (AlreadyReversed, CurrencyMismatch, FxRateChanged, FxRateUnavailable, KycRequired,
                     NotFound, NotReversible, ReversalNotAllowed)
from .external import account_for_iban, parse_iban, post_external, unknown_iban
from .posting import PlannedEntry, plan_entry, plan_legs, write_entries

if TYPE_CHECKING:
    from ..risk.screen import Screen


@dataclass(frozen=True)
class Actor:
    """Who asks: a customer moves only their own money; an admin may act on any account."""

    customer_id: str | None
    is_admin: bool = False

    @property
    def name(self) -> str:
        return f"admin:{self.customer_id}" if self.is_admin else f"customer:{self.customer_id}"


def post_transfer(session: Session, actor: Actor, *, from_account_id: str, to_account_id: str,
                  amount: int, currency: str, description: str = "", category: str | None = None,
                  request_id: str | None = None, expected_fx_rate: Decimal | None = None,
                  merchant: str | None = None, screen: Screen | None = None,
                  entry_id: uuid.UUID | None = None) -> PlannedEntry:
    """`screen` (risk/screen.py) judges a transfer to someone else after ownership, KYC and
    account status and before funds (API.md, order of checks); it raises when the transfer
    is not to post now. `entry_id`: the id a transfer held for review was promised."""
    accounts = lock_accounts_in_order(session, [from_account_id, to_account_id])
    source = accounts.get(from_account_id)
    # Another customer's account answers like a missing one, so ids do not leak.
    if source is None or (not actor.is_admin and source.customer_id != actor.customer_id) \
            or source.kind != "customer":
        raise NotFound(f"Account {from_account_id} does not exist.", account_id=from_account_id)
    target = accounts.get(to_account_id)
    if target is not None and target.kind != "customer":
        raise NotFound(f"Account {to_account_id} does not exist.", account_id=to_account_id)
    # After ownership (404), before account status and funds (API.md, order of checks).
    if target is not None and target.customer_id != source.customer_id \
            and not is_verified(session, source.customer_id):
        raise KycRequired("Until your identity is verified you can move money only between your "
                          "own accounts.", account_id=to_account_id)
    if screen is not None and target is not None and target.customer_id != source.customer_id:
        for account in (source, target):
            account.ensure_usable()
        if currency != source.currency:
            raise CurrencyMismatch(f"Account {source.id} holds {source.currency}, not {currency}.",
                                   account_id=source.id)
        screen.check(session, source, payee=target.id, country=None, amount=amount, currency=currency)
    if target is not None and target.currency != source.currency and from_account_id != to_account_id:
        return written(session, _cross_currency(session, accounts, actor, source, target, amount=amount,
                                                currency=currency, description=description,
                                                category=category, request_id=request_id,
                                                expected_fx_rate=expected_fx_rate, merchant=merchant,
                                                entry_id=entry_id),
                       accounts)
    entry = plan_entry(accounts, kind="transfer", amount=amount, currency=currency,
                       from_account_id=from_account_id, to_account_id=to_account_id,
                       description=description, category=category, initiated_by=actor.name,
                       request_id=request_id, merchant=merchant, entry_id=entry_id)
    return written(session, entry, accounts)


def _cross_currency(session: Session, accounts, actor: Actor, source, target, *, amount: int,
                    currency: str, description: str, category: str | None, request_id: str | None,
                    expected_fx_rate: Decimal | None, merchant: str | None = None,
                    entry_id: uuid.UUID | None = None) -> PlannedEntry:
    """API.md "Currencies, FX and fees": `amount`/`currency` leave the source (so `currency`
    is the source's), converted at the rate in force through the bank's FX clearing account
    of each currency, the fx fee on top to its fee income account, all in one entry."""
    for account in (source, target):
        account.ensure_usable()
    if currency != source.currency:
        raise CurrencyMismatch(f"Account {source.id} holds {source.currency}, not {currency}.",
                               account_id=source.id)
    quote = fx_quote(session, amount, currency, target.currency, expected_fx_rate)
    clearing = {c: ensure_bank_account(session, "fx_clearing", c) for c in (currency, target.currency)}
    fee_income = ensure_bank_account(session, "fees", currency)
    # Customer account ids (UUIDs) sort before "internal:...", so taking the bank's accounts
    # after the two customer accounts is still one global id order.
    accounts.update(lock_accounts_in_order(session, [*clearing.values(), fee_income]))
    return plan_legs(accounts, quote.legs(source=source.id, target=target.id, fx_clearing=clearing,
                                          fee_income=fee_income),
                     kind="transfer", amount=amount, currency=currency, from_account_id=source.id,
                     to_account_id=target.id, fee=quote.fee, to_amount=quote.converted_amount,
                     to_currency=quote.converted_currency, fx_rate=quote.rate, description=description,
                     category=category, initiated_by=actor.name, request_id=request_id,
                     merchant=merchant, entry_id=entry_id)


def post_transfer_to_iban(session: Session, actor: Actor, *, from_account_id: str, to_iban: str,
                          beneficiary_name: str, amount: int, currency: str, description: str = "",
                          category: str | None = None, request_id: str | None = None,
                          expected_fx_rate: Decimal | None = None, merchant: str | None = None,
                          screen: Screen | None = None, entry_id: uuid.UUID | None = None):
    """An IBAN of this bank is an internal transfer to its account; any other is external.
    Returns (entry, ExternalState or None)."""
    beneficiary = parse_iban(to_iban)  # the schema has validated it already
    if beneficiary.is_this_bank:
        target = account_for_iban(session, beneficiary.iban)
        if target is None:
            raise unknown_iban(beneficiary.iban)
        return post_transfer(session, actor, from_account_id=from_account_id, to_account_id=target,
                             amount=amount, currency=currency, description=description, category=category,
                             request_id=request_id, expected_fx_rate=expected_fx_rate,
                             merchant=merchant, screen=screen, entry_id=entry_id), None
    return post_external(session, actor, beneficiary, beneficiary_name, from_account_id=from_account_id,
                         amount=amount, currency=currency, description=description, category=category,
                         merchant=merchant, request_id=request_id, screen=screen, entry_id=entry_id)


def fx_quote(session: Session, amount: int, currency: str, to_currency: str,
             expected_fx_rate: Decimal | None) -> FxQuote:
    """books.pricing's quote, its business refusals as ledger errors (stored under the
    Idempotency-Key and replayed like insufficient_funds); its validation errors stay 422s
    that are not stored."""
    try:
        return quote_fx(session, amount, currency, to_currency, expected_rate=expected_fx_rate)
    except Problem as problem:
        if problem.code == "fx_rate_changed":
            raise FxRateChanged(problem.detail, **problem.extra) from None
        if problem.code == "fx_rate_unavailable":
            raise FxRateUnavailable(problem.detail, **problem.extra) from None
        raise


def post_deposit(session: Session, actor: Actor, *, account_id: str, amount: int, currency: str,
                 description: str = "", request_id: str | None = None) -> PlannedEntry:
    """Fund a customer account from the bank's settlement account in its currency."""
    settlement = ensure_settlement_account(session, currency)
    accounts = lock_accounts_in_order(session, [settlement, account_id])
    target = accounts.get(account_id)
    if target is None or target.kind != "customer":
        raise NotFound(f"Account {account_id} does not exist.", account_id=account_id)
    entry = plan_entry(accounts, kind="deposit", amount=amount, currency=currency,
                       from_account_id=settlement, to_account_id=account_id,
                       description=description or "Deposit", initiated_by=actor.name,
                       request_id=request_id)
    return written(session, entry, accounts)


def reverse_entry(session: Session, actor: Actor, entry_id: uuid.UUID, *,
                  description: str | None = None, request_id: str | None = None) -> PlannedEntry:
    """The rollback: a new entry moving the same amount back; both stay in history."""
    original = find_entry(session, entry_id)
    # Not a party to it: answered like a missing one, so ids do not leak.
    if original is None or not original.visible_to(actor):
        raise NotFound(f"Transfer {entry_id} does not exist.")
    if original.kind == "reversal":
        raise NotReversible("A reversal cannot itself be reversed; make a new transfer.")
    if original.kind in ("external_transfer", "external_settlement"):
        # A pending external transfer comes back by the admin's return; a settled one has
        # left the bank and can only come back as an incoming payment.
        raise NotReversible("An external transfer is not reversed; a pending one is returned by the bank.")
    if not may_reverse(original, actor):
        raise ReversalNotAllowed(
            "Only the receiver of a transfer (a refund) or an admin can reverse it; a sender only "
            "between their own accounts.")
    if original.is_multi_leg:
        return reverse_by_legs(session, actor, original, description, request_id)
    accounts = lock_accounts_in_order(session, [original.from_account_id, original.to_account_id])
    # Checked after the locks: a concurrent reversal has committed or not by now.
    if reversal_of(session, entry_id) is not None:
        raise AlreadyReversed(f"Transfer {entry_id} has already been reversed.")
    entry = plan_entry(accounts, kind="reversal", amount=original.amount, currency=original.currency,
                       from_account_id=original.to_account_id, to_account_id=original.from_account_id,
                       description=description or f"Reversal of {entry_id}", initiated_by=actor.name,
                       reverses_entry_id=entry_id, request_id=request_id,
                       # Fraud recovery happens on frozen accounts: an admin's reversal may
                       # touch them. Closed accounts stay closed (the database refuses too).
                       allow_frozen=actor.is_admin)
    return written(session, entry, accounts)


def reverse_by_legs(session: Session, actor: Actor, original: "EntryView", description: str | None,
                    request_id: str | None) -> PlannedEntry:
    """An entry of more than two postings (a conversion, a fee) is reversed posting by posting:
    the target gives back what it received, the source gets back amount and fee, the bank's
    FX clearing and fee accounts are undone. Its header reads from the original's target."""
    legs = [(row.account_id, -row.amount, row.currency.strip()) for row in session.execute(
        select(postings.c.account_id, postings.c.amount, postings.c.currency)
        .where(postings.c.entry_id == original.id).order_by(postings.c.id)).all()]
    accounts = lock_accounts_in_order(session, [account_id for account_id, _, _ in legs])
    if reversal_of(session, original.id) is not None:
        raise AlreadyReversed(f"Transfer {original.id} has already been reversed.")
    return written(session, plan_legs(
        accounts, legs, kind="reversal", amount=original.received_amount, currency=original.received_currency,
        from_account_id=original.to_account_id, to_account_id=original.from_account_id,
        to_amount=original.amount + original.fee, to_currency=original.currency,
        description=description or f"Reversal of {original.id}", initiated_by=actor.name,
        reverses_entry_id=original.id, request_id=request_id, allow_frozen=actor.is_admin), accounts)


def may_reverse(entry, actor: Actor) -> bool:
    """API.md "Reversals, completed": an admin on any entry; the receiver of a transfer (a
    refund: money goes back to whoever sent it, so it needs no KYC); the sender only when both
    accounts are their own, which the receiver rule already covers. A sender may never claw
    money back from someone else; deposits are the bank's to reverse."""
    if actor.is_admin:
        return True
    return entry.kind == "transfer" and entry.to_customer_id == actor.customer_id


@dataclass(frozen=True)
class EntryView:
    id: uuid.UUID
    kind: str
    status: str
    amount: int
    currency: str
    description: str
    category: str | None
    from_account_id: str
    to_account_id: str
    from_customer_id: str | None
    to_customer_id: str | None
    reverses_entry_id: uuid.UUID | None
    reversed_by: uuid.UUID | None
    created_at: datetime
    fee: int = 0
    to_amount: int | None = None
    to_currency: str | None = None
    fx_rate: Decimal | None = None
    merchant: str | None = None
    # External transfers (ledger/external.py): the beneficiary; `status` is then its state.
    to_iban: str | None = None
    beneficiary_name: str | None = None
    international: bool | None = None

    @property
    def is_external(self) -> bool:
        return self.to_iban is not None

    @property
    def received_amount(self) -> int:
        return self.amount if self.to_amount is None else self.to_amount

    @property
    def received_currency(self) -> str:
        return (self.to_currency or self.currency).strip()

    @property
    def is_multi_leg(self) -> bool:
        return self.fee != 0 or self.to_amount is not None

    def visible_to(self, actor: Actor) -> bool:
        return actor.is_admin or actor.customer_id in (self.from_customer_id, self.to_customer_id)


def written(session: Session, entry: PlannedEntry, accounts) -> PlannedEntry:
    created = write_entries(session, [entry], accounts)
    return replace(entry, created_at=created[entry.id])


def find_entry(session: Session, entry_id: uuid.UUID) -> EntryView | None:
    source, target = aliased(ledger_accounts), aliased(ledger_accounts)
    reversal = aliased(journal_entries)
    external = external_transfers
    row = session.execute(
        select(journal_entries, source.c.customer_id.label("from_customer_id"),
               target.c.customer_id.label("to_customer_id"), reversal.c.id.label("reversed_by"),
               external.c.iban.label("to_iban"), external.c.beneficiary_name, external.c.international,
               func.coalesce(external.c.status, journal_entries.c.status).label("shown_status"))
        .join(source, source.c.id == journal_entries.c.from_account_id)
        .join(target, target.c.id == journal_entries.c.to_account_id)
        .outerjoin(reversal, reversal.c.reverses_entry_id == journal_entries.c.id)
        .outerjoin(external, external.c.entry_id == journal_entries.c.id)
        .where(journal_entries.c.id == entry_id)
    ).first()
    if row is None:
        return None
    values = {**row._mapping, "status": row.shown_status}
    return EntryView(**{name: values[name] for name in EntryView.__dataclass_fields__})


def reversal_of(session: Session, entry_id: uuid.UUID) -> uuid.UUID | None:
    return session.execute(
        select(journal_entries.c.id).where(journal_entries.c.reverses_entry_id == entry_id)
    ).scalar_one_or_none()


def get_entry_for(session: Session, actor: Actor, entry_id: uuid.UUID) -> EntryView:
    entry = find_entry(session, entry_id)
    if entry is None or not entry.visible_to(actor):
        raise NotFound(f"Transfer {entry_id} does not exist.")
    return entry
