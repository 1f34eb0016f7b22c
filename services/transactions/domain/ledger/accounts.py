"""Ledger accounts: the ledger's mirror of each bank account, and the bank's own accounts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ...models import holds, ledger_accounts
from .errors import AccountClosed, AccountFrozen, NotFound


@dataclass(frozen=True)
class LedgerAccount:
    id: str
    customer_id: str | None
    kind: str
    currency: str
    status: str
    overdraft_limit: int
    balance: int
    held: int
    may_go_negative: bool
    account_type: str | None = None  # the bank account's type (checking, credit_card, ...)

    @property
    def available(self) -> int:
        """What can leave the account now: balance less holds plus the overdraft."""
        return self.balance - self.held + self.overdraft_limit

    @property
    def available_balance(self) -> int:
        """What the customer sees as available: balance less holds."""
        return self.balance - self.held

    def ensure_usable(self, allow_frozen: bool = False) -> None:
        """Frozen and closed accounts move no money; an admin's correction may touch a frozen one."""
        if self.status == "frozen" and not allow_frozen:
            raise AccountFrozen(f"Account {self.id} is frozen.", account_id=self.id)
        if self.status == "closed":
            raise AccountClosed(f"Account {self.id} is closed.", account_id=self.id)


_COLUMNS = [ledger_accounts.c[name] for name in LedgerAccount.__dataclass_fields__]

# Holds past their expires_at that no write has expired yet: they still count in `held`
# (the database keeps held = the sum of active holds), but no longer against what the
# customer may spend, so reads leave them out (API.md: an expired hold no longer counts).
_EXPIRED_UNRELEASED = (
    select(func.coalesce(func.sum(holds.c.amount), 0))
    .where(holds.c.account_id == ledger_accounts.c.id, holds.c.status == "active",
           holds.c.expires_at <= func.now())
    .scalar_subquery()
)
_READ_COLUMNS = [(ledger_accounts.c.held - _EXPIRED_UNRELEASED).label("held") if name == "held"
                 else ledger_accounts.c[name] for name in LedgerAccount.__dataclass_fields__]

# Lazy expiry, run under the accounts' locks (ledger_accounts first, then holds, the order
# every writer takes), so a write sees `held` without the expired holds and the database's
# balance_within_overdraft CHECK agrees with it.
_EXPIRE_DUE = text("""
    UPDATE holds SET status = 'expired', updated_at = now()
     WHERE account_id = ANY(CAST(:ids AS text[])) AND status = 'active' AND expires_at <= now()
    RETURNING account_id
""")

BANK_KINDS = ("settlement", "fx_clearing", "fees", "outgoing_clearing", "rewards")


def bank_account_id(kind: str, currency: str) -> str:
    return f"internal:{kind}:{currency}"


def settlement_account_id(currency: str) -> str:
    return bank_account_id("settlement", currency)


def ensure_bank_account(session: Session, kind: str, currency: str) -> str:
    """One of the bank's own accounts (settlement, FX clearing, fee income) in a currency,
    created on first use; they may go negative (the bank's position, not a customer's money)."""
    if kind not in BANK_KINDS:
        raise ValueError(f"not a bank account kind: {kind}")
    account_id = bank_account_id(kind, currency)
    session.execute(
        insert(ledger_accounts)
        .values(id=account_id, customer_id=None, kind=kind, currency=currency, may_go_negative=True)
        .on_conflict_do_nothing(index_elements=[ledger_accounts.c.id])
    )
    return account_id


def open_customer_account(session: Session, account_id: str, customer_id: str, currency: str,
                          overdraft_limit: int = 0, status: str = "active") -> bool:
    """Mirror a bank account; a repeat of the same opening is a no-op. True if created."""
    created = session.execute(
        insert(ledger_accounts)
        .values(id=account_id, customer_id=customer_id, kind="customer", currency=currency,
                status=status, overdraft_limit=overdraft_limit)
        .on_conflict_do_nothing(index_elements=[ledger_accounts.c.id])
        .returning(ledger_accounts.c.id)
    ).first()
    return created is not None


def ensure_settlement_account(session: Session, currency: str) -> str:
    """The bank's settlement account in a currency: deposits come from it, so it may go negative."""
    return ensure_bank_account(session, "settlement", currency)


def set_status(session: Session, account_id: str, status: str) -> None:
    session.execute(
        update(ledger_accounts).where(ledger_accounts.c.id == account_id)
        .values(status=status, version=ledger_accounts.c.version + 1, updated_at=func.now())
    )


def lock_accounts_in_order(session: Session, account_ids: Iterable[str]) -> dict[str, LedgerAccount]:
    """Lock the accounts FOR UPDATE in id order, so two transfers never wait on each other in a
    cycle; then expire their holds that are due, so `held` is what they hold now."""
    ids = {"ids": sorted(set(account_ids))}
    rows = session.execute(_LOCK, ids).all()
    if expire_due(session, [row.id for row in rows]):
        rows = session.execute(_LOCKED, ids).all()  # held changed; the rows stay locked
    return {row.id: LedgerAccount(**row._mapping) for row in rows}


# Built once: every money write locks its accounts through these.
_LOCKED = (select(*_COLUMNS).where(ledger_accounts.c.id.in_(bindparam("ids", expanding=True)))
           .order_by(ledger_accounts.c.id))
_LOCK = _LOCKED.with_for_update()


def expire_due(session: Session, locked_ids: list[str]) -> bool:
    """Expire the due holds of accounts the caller has locked; True when any was."""
    return bool(locked_ids) and session.execute(_EXPIRE_DUE, {"ids": locked_ids}).first() is not None


def get_accounts(session: Session, account_ids: Iterable[str]) -> list[LedgerAccount]:
    """Unlocked reads: `held` leaves out the holds already past their expiry."""
    rows = session.execute(select(*_READ_COLUMNS).where(ledger_accounts.c.id.in_(list(account_ids)))).all()
    return [LedgerAccount(**row._mapping) for row in rows]


def get_account(session: Session, account_id: str) -> LedgerAccount:
    found = get_accounts(session, [account_id])
    if not found:
        raise NotFound(f"Account {account_id} does not exist.")
    return found[0]
