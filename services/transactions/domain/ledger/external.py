"""External and international transfers to an IBAN (API.md "External and international transfers").

An IBAN of this bank (country GB, bank code FNVA: services/accounts/numbers.py) is an
internal transfer to the account that holds it. Any other valid IBAN is external: one entry
moves the money at once from the source to the bank's outgoing clearing account of its
currency (chart 2200), the external or international fee on top to fee income, and an
`external_transfers` row (migration 0010) keeps the beneficiary and the state:

    pending --settle--> posted     an `external_settlement` entry, outgoing clearing ->
                                   settlement: the money has left the bank
    pending --return--> returned   a reversal of the entry (its postings mirrored): amount
                                   and fee back to the source in full

The entries never change; the state moves once (trigger external_transfers_guard).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from services.common.errors import Problem

from ..books.fees import fee_for
from ...models import external_transfers, ledger_accounts
from .accounts import ensure_bank_account, ensure_settlement_account, lock_accounts_in_order
from .account_sync import is_verified
from .errors import CurrencyMismatch, InvalidState, KycRequired, NotFound
from .posting import PlannedEntry, plan_entry, plan_legs, write_entries

BANK_COUNTRY = "GB"
BANK_CODE = "FNVA"


@dataclass(frozen=True)
class Beneficiary:
    iban: str            # compact, upper case
    country: str
    bank_code: str
    bic: str | None
    bank_name: str | None

    @property
    def is_this_bank(self) -> bool:
        return self.country == BANK_COUNTRY and self.bank_code == BANK_CODE

    @property
    def international(self) -> bool:
        return self.country != BANK_COUNTRY


class InvalidIban(ValueError):
    pass


def parse_iban(value: str) -> Beneficiary:
    """schwifty checks length, country format and the mod 97-10 check digits; spaces and
    lower case are accepted as people write IBANs, and the compact form is kept."""
    try:
        iban = IBAN(value)
    except (SchwiftyException, ValueError, TypeError) as error:
        raise InvalidIban(str(error) or "Not a valid IBAN.") from None
    bic = iban.bic
    return Beneficiary(iban.compact, iban.country_code, iban.bank_code or "",
                       str(bic) if bic is not None else None, getattr(iban, "bank_name", None))


def account_for_iban(session: Session, iban: str) -> str | None:
    """The ledger account that holds an IBAN of this bank, when exactly one does."""
    rows = session.execute(
        select(ledger_accounts.c.id).where(ledger_accounts.c.iban == iban,
                                           ledger_accounts.c.kind == "customer").limit(2)).all()
    return rows[0].id if len(rows) == 1 else None


def unknown_iban(iban: str) -> Problem:
    detail = f"No account of this bank has the IBAN {iban}."
    return Problem(422, "validation_error", detail, errors={"to_iban": [detail]})


@dataclass(frozen=True)
class ExternalState:
    entry_id: uuid.UUID
    iban: str
    beneficiary_name: str
    country: str
    bic: str | None
    bank_name: str | None
    international: bool
    status: str


def post_external(session: Session, actor, beneficiary: Beneficiary, beneficiary_name: str, *,
                  from_account_id: str, amount: int, currency: str, description: str = "",
                  category: str | None = None, merchant: str | None = None,
                  request_id: str | None = None, screen=None,
                  entry_id: uuid.UUID | None = None) -> tuple[PlannedEntry, ExternalState]:
    """Money leaves the source now, to outgoing clearing; the fee goes to fee income."""
    accounts = lock_accounts_in_order(session, [from_account_id])
    source = accounts.get(from_account_id)
    if source is None or (not actor.is_admin and source.customer_id != actor.customer_id) \
            or source.kind != "customer":
        raise NotFound(f"Account {from_account_id} does not exist.", account_id=from_account_id)
    if not is_verified(session, source.customer_id):
        raise KycRequired("Until your identity is verified you can move money only between your "
                          "own accounts.", account_id=from_account_id)
    source.ensure_usable()
    if currency != source.currency:
        raise CurrencyMismatch(f"Account {source.id} holds {source.currency}, not {currency}.",
                               account_id=source.id)
    if screen is not None:
        screen.check(session, source, payee=beneficiary.iban, country=beneficiary.country, amount=amount,
                     currency=currency)
    fee = fee_for(session, "international" if beneficiary.international else "external", amount, currency)
    clearing = ensure_bank_account(session, "outgoing_clearing", currency)
    bank_ids = [clearing] + ([ensure_bank_account(session, "fees", currency)] if fee else [])
    # Customer ids (UUIDs) sort before "internal:...": still one global lock order.
    accounts.update(lock_accounts_in_order(session, bank_ids))
    legs = [(source.id, -(amount + fee), currency), (clearing, amount, currency)]
    if fee:
        legs.append((bank_ids[1], fee, currency))
    entry = plan_legs(accounts, legs, kind="external_transfer", amount=amount, currency=currency,
                      from_account_id=source.id, to_account_id=clearing, fee=fee,
                      description=description, category=category, initiated_by=actor.name,
                      request_id=request_id, merchant=merchant, entry_id=entry_id)
    created = write_entries(session, [entry], accounts)
    state = ExternalState(entry.id, beneficiary.iban, beneficiary_name, beneficiary.country,
                          beneficiary.bic, beneficiary.bank_name, beneficiary.international, "pending")
    session.execute(insert(external_transfers).values(
        entry_id=entry.id, iban=state.iban, beneficiary_name=beneficiary_name, country=state.country,
        bic=state.bic, bank_name=state.bank_name, international=state.international))
    return replace(entry, created_at=created[entry.id]), state


def settle_external(session: Session, actor, entry_id: uuid.UUID,
                    request_id: str | None = None) -> PlannedEntry:
    """pending -> posted: the money leaves outgoing clearing for the bank's settlement account."""
    row = _locked_pending(session, entry_id)
    original = _entry_amounts(session, entry_id)
    settlement = ensure_settlement_account(session, original.currency)
    accounts = lock_accounts_in_order(session, [original.to_account_id, settlement])
    entry = plan_entry(accounts, kind="external_settlement", amount=original.amount,
                       currency=original.currency, from_account_id=original.to_account_id,
                       to_account_id=settlement, description=f"Settlement of {entry_id} to {row.iban}",
                       initiated_by=actor.name, request_id=request_id)
    created = write_entries(session, [entry], accounts)
    _decide(session, entry_id, actor, status="posted", settlement_entry_id=entry.id)
    return replace(entry, created_at=created[entry.id])


def return_external(session: Session, actor, entry_id: uuid.UUID,
                    request_id: str | None = None) -> PlannedEntry:
    """pending -> returned: a reversal of the entry gives back the amount and its fee in full.
    Allowed on a frozen source (an admin's recovery), not on a closed one (nothing posts there)."""
    from .transfers import find_entry, reverse_by_legs  # transfers imports this module
    _locked_pending(session, entry_id)
    original = find_entry(session, entry_id)
    entry = reverse_by_legs(session, actor, original, f"Return of {entry_id}", request_id)
    _decide(session, entry_id, actor, status="returned", return_entry_id=entry.id)
    return entry


def _locked_pending(session: Session, entry_id: uuid.UUID):
    row = session.execute(select(external_transfers).where(external_transfers.c.entry_id == entry_id)
                          .with_for_update()).first()
    if row is None:
        raise NotFound(f"External transfer {entry_id} does not exist.")
    if row.status != "pending":
        raise InvalidState(f"Transfer {entry_id} is {row.status}; only a pending transfer is "
                           f"settled or returned.", transfer_status=row.status)
    return row


def _entry_amounts(session: Session, entry_id: uuid.UUID):
    from ...models import journal_entries
    row = session.execute(select(journal_entries.c.amount, journal_entries.c.currency,
                                 journal_entries.c.to_account_id)
                          .where(journal_entries.c.id == entry_id)).one()
    return _Amounts(row.amount, row.currency.strip(), row.to_account_id)


@dataclass(frozen=True)
class _Amounts:
    amount: int
    currency: str
    to_account_id: str


def _decide(session: Session, entry_id: uuid.UUID, actor, **values) -> None:
    session.execute(update(external_transfers).where(external_transfers.c.entry_id == entry_id)
                    .values(decided_by=actor.name, decided_at=func.now(), **values))


def external_state(session: Session, entry_id: uuid.UUID) -> ExternalState | None:
    row = session.execute(select(external_transfers).where(external_transfers.c.entry_id == entry_id)).first()
    if row is None:
        return None
    return ExternalState(row.entry_id, row.iban, row.beneficiary_name, row.country.strip(), row.bic,
                         row.bank_name, row.international, row.status)
