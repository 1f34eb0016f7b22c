"""The ledger's mirror of bank accounts and customers, kept in order by version.

The accounts service owns accounts and customers and bumps a version counter in the same
transaction as every change. It tells the ledger twice: synchronously before it commits
(PUT /internal/ledger-accounts/{id}, /internal/ledger-customers/{id}), so a freeze, a
close or a new limit is in force here before its call answers, and then by an outbox
event, the durable record. Both carry a full snapshot, applied here by one rule:

- a snapshot applies when its version is >= the stored one (equal re-applies: a version the
  accounts service rolled back is issued again with other values), an older one is ignored;
- `closed` is terminal: a later non-closed snapshot is refused (409 account_closed on the
  synchronous call; an event is acknowledged and ignored, there is nothing to undo);
- closing needs a zero balance and no holds, checked here under FOR UPDATE (409
  account_not_empty), so no deposit can land between the check and the close;
- a snapshot may create the ledger account, whichever event of the account arrives first.
Customer id and currency are fixed when the account is created and never change after.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ...models import ledger_accounts, ledger_customers
from .accounts import expire_due
from .errors import AccountClosed, AccountNotEmpty, NotFound, OverdraftInUse

VERIFIED = "verified"


@dataclass(frozen=True)
class AccountSnapshot:
    account_id: str
    customer_id: str
    currency: str
    status: str
    overdraft_limit: int  # minor units
    version: int
    iban: str | None = None          # the account's number (an IBAN of this bank)
    account_type: str | None = None  # checking, savings, credit_card, loan...


@dataclass(frozen=True)
class AccountView:
    """What the ledger holds after a snapshot: the synchronous call's answer."""

    account_id: str
    currency: str
    status: str
    overdraft_limit: int
    version: int
    balance: int
    applied: bool  # False when the snapshot was older than the stored version


def apply_account_snapshot(session: Session, snapshot: AccountSnapshot) -> AccountView:
    """Apply one snapshot (rules above) in the caller's transaction; raises AccountClosed,
    AccountNotEmpty or OverdraftInUse when it cannot apply."""
    closed = snapshot.status == "closed"
    created = session.execute(
        insert(ledger_accounts)
        .values(id=snapshot.account_id, customer_id=snapshot.customer_id, kind="customer",
                currency=snapshot.currency, status=snapshot.status,
                overdraft_limit=snapshot.overdraft_limit, version=snapshot.version,
                iban=snapshot.iban, account_type=snapshot.account_type)
        .on_conflict_do_nothing(index_elements=[ledger_accounts.c.id])
        .returning(ledger_accounts.c.id)
    ).first()
    row = _locked(session, snapshot.account_id)
    if created is not None:
        return _view(row, applied=True)
    if row.kind != "customer":
        raise NotFound(f"Account {snapshot.account_id} is not a customer account.")
    if snapshot.version < row.version:
        return _view(row, applied=False)
    if row.status == "closed":
        if not closed:
            raise AccountClosed(f"Account {row.id} is closed; closing is final.", account_id=row.id)
    elif closed and (row.balance != 0 or row.held != 0):
        raise AccountNotEmpty(f"Account {row.id} still holds money or holds; it cannot close.",
                              account_id=row.id)
    if not row.may_go_negative and row.balance - row.held < -snapshot.overdraft_limit:
        raise OverdraftInUse(f"Account {row.id} already uses more credit than the new limit.",
                             account_id=row.id)
    # A closed account keeps its last limit: nothing will ever use it again.
    values = {"version": snapshot.version, "status": snapshot.status, "updated_at": func.now()}
    # Number and type are fixed at opening; an account mirrored before migration 0010 (or
    # by an event without them) learns them from its next snapshot.
    if row.iban is None and snapshot.iban:
        values["iban"] = snapshot.iban
    if row.account_type is None and snapshot.account_type:
        values["account_type"] = snapshot.account_type
    if row.status != "closed":
        values["overdraft_limit"] = snapshot.overdraft_limit
    session.execute(update(ledger_accounts).where(ledger_accounts.c.id == row.id).values(**values))
    return _view(_locked(session, row.id), applied=True)


def _locked(session: Session, account_id: str):
    """The account's row FOR UPDATE, its due holds expired first (a close needs none left)."""
    locked = select(ledger_accounts).where(ledger_accounts.c.id == account_id)
    row = session.execute(locked.with_for_update()).one()
    return session.execute(locked).one() if expire_due(session, [account_id]) else row


def _view(row, applied: bool) -> AccountView:
    return AccountView(row.id, row.currency.strip(), row.status, row.overdraft_limit, row.version,
                       row.balance, applied)


def account_exists(session: Session, account_id: str) -> bool:
    return session.execute(
        select(ledger_accounts.c.id).where(ledger_accounts.c.id == account_id)
    ).first() is not None


@dataclass(frozen=True)
class CustomerView:
    customer_id: str
    kyc_status: str
    version: int
    applied: bool


def apply_customer_kyc(session: Session, customer_id: str, kyc_status: str, version: int) -> CustomerView:
    """The customer's KYC status, by the same version rule (>= applies, older is ignored)."""
    table = insert(ledger_customers).values(customer_id=customer_id, kyc_status=kyc_status, version=version)
    applied = session.execute(
        table.on_conflict_do_update(
            index_elements=[ledger_customers.c.customer_id],
            set_={"kyc_status": table.excluded.kyc_status, "version": table.excluded.version,
                  "updated_at": func.now()},
            where=ledger_customers.c.version <= table.excluded.version)
        .returning(ledger_customers.c.customer_id)
    ).first() is not None
    row = session.execute(
        select(ledger_customers).where(ledger_customers.c.customer_id == customer_id)).one()
    return CustomerView(row.customer_id, row.kyc_status, row.version, applied)


def is_verified(session: Session, customer_id: str | None) -> bool:
    """KYC verified as the accounts service last said; an unknown customer is not.

    FOR SHARE: a concurrent KYC change (which updates the row) waits for this transfer or
    the transfer waits for it, so a revocation is in force once its call has answered."""
    if customer_id is None:
        return False
    status = session.execute(_KYC_STATUS, {"customer_id": customer_id}).scalar_one_or_none()
    return status == VERIFIED


# Built once (every transfer to someone else reads it).
_KYC_STATUS = (select(ledger_customers.c.kyc_status)
               .where(ledger_customers.c.customer_id == bindparam("customer_id")).with_for_update(read=True))
