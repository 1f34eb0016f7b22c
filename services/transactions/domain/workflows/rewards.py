"""Reward points on card spending (API.md "Scheduled transfers, bills, rewards").

The published rule (PROGRAM): money leaving a `credit_card` account to anyone else (another
customer, an IBAN, a card capture to the bank's settlement) earns 1 point per whole unit of
the source currency (10.99 EUR: 10 points; 1,500 JPY: 1,500 points), in the transaction that
posts it (a hook of posting.write_entries, so every path earns alike). A reversal of such
spending (a refund, a returned external transfer) takes its points back, at most what the
customer still has (points already redeemed stay redeemed). Redemption pays 1.00 of the
account's currency per 100 points from the bank's `rewards` account (chart 5100, an expense)
through the ledger, with a negative item in the same transaction; the balance
(reward_balances) is the sum of the items and never negative, both kept by the database.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from services.common.currency import minor_units
from services.common.outbox import publish

from .. import publishing
from ..ledger import posting
from ..ledger.accounts import LedgerAccount, ensure_bank_account, lock_accounts_in_order
from ..ledger.errors import InsufficientPoints, InvalidInput
from ..ledger.posting import PlannedEntry, plan_entry, write_entries
from ...models import reward_balances, reward_items
from .own_accounts import own_account

SPENDING_KINDS = ("transfer", "external_transfer", "card_capture")
CARD = "credit_card"
POINTS_PER_CASH_UNIT = 100  # redeeming 100 points pays 1.00 of the account's currency

PROGRAM = {
    "name": "FinovaBank card rewards",
    "earn_rule": "1 point per whole unit of currency spent from a credit_card account to anyone else; "
                 "reversed spending takes its points back",
    "points_per_unit": 1,
    "redeem_rate": f"{POINTS_PER_CASH_UNIT} points = 1.00 in the currency of the account credited",
    "points_per_cash_unit": POINTS_PER_CASH_UNIT,
}


@dataclass(frozen=True)
class RewardItem:
    id: int
    customer_id: str
    points: int
    reason: str
    transfer_id: uuid.UUID | None
    created_at: datetime


def points_for(amount: int, currency: str) -> int:
    """Whole units of the currency: the amount in minor units floored."""
    return amount // 10 ** minor_units(currency)


def earn_for_entries(session: Session, entries: list[PlannedEntry], accounts: dict[str, LedgerAccount]) -> None:
    """posting.write_entries' hook: points for card spending, points back for its reversal."""
    for entry in entries:
        if entry.kind in SPENDING_KINDS:
            source, target = accounts.get(entry.from_account_id), accounts.get(entry.to_account_id)
            if source is None or source.account_type != CARD or source.customer_id is None:
                continue
            if target is not None and target.customer_id == source.customer_id:
                continue  # paying one's own card or moving between one's accounts is not spending
            points = points_for(entry.amount, entry.currency)
            if points > 0:
                _add(session, source.customer_id, points, "card_spending", entry.id)
        elif entry.kind == "reversal" and entry.reverses_entry_id is not None:
            _take_back(session, entry.reverses_entry_id, entry.id)


def _take_back(session: Session, original: uuid.UUID, reversal: uuid.UUID) -> None:
    earned = session.execute(select(reward_items.c.customer_id, reward_items.c.points).where(
        reward_items.c.transfer_id == original, reward_items.c.reason == "card_spending")).one_or_none()
    if earned is None:
        return
    balance = _balance(session, earned.customer_id, lock=True)
    points = min(earned.points, balance)
    if points > 0:
        _add(session, earned.customer_id, -points, "spending_reversed", reversal, notify=False)


def _add(session: Session, customer_id: str, points: int, reason: str, transfer_id: uuid.UUID | None,
         notify: bool = True) -> None:
    session.execute(reward_items.insert().values(customer_id=customer_id, points=points, reason=reason,
                                                 transfer_id=transfer_id))
    app = publishing.running_app() if notify and points > 0 else None
    if app is not None:
        publish(app, session, "rewards.earned", {
            "customer_id": customer_id, "points": points, "transfer_id": str(transfer_id) if transfer_id else None,
            "points_balance": _balance(session, customer_id)})


def _balance(session: Session, customer_id: str, lock: bool = False) -> int:
    query = select(reward_balances.c.points).where(reward_balances.c.customer_id == customer_id)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    return found or 0


def rewards_of(session: Session, customer_id: str, limit: int,
               after: tuple[datetime, int] | None = None) -> tuple[int, list[RewardItem], tuple | None]:
    """The balance and the items, newest first, keyset-paged on (created_at, id)."""
    query = select(reward_items).where(reward_items.c.customer_id == customer_id)
    if after is not None:
        query = query.where(or_(reward_items.c.created_at < after[0],
                                and_(reward_items.c.created_at == after[0], reward_items.c.id < after[1])))
    rows = session.execute(query.order_by(reward_items.c.created_at.desc(), reward_items.c.id.desc())
                           .limit(limit + 1)).all()
    items = [RewardItem(**row._mapping) for row in rows[:limit]]
    following = (items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return _balance(session, customer_id), items, following


def redeem(session: Session, customer_id: str, points: int, to_account_id: str, initiated_by: str,
           request_id: str | None = None) -> tuple[PlannedEntry, int]:
    """Pay `points` out as cash into one of the customer's accounts; (entry, points left)."""
    if points <= 0:
        raise InvalidInput("Redeem at least one point.", errors={"points": ["Redeem at least one point."]})
    target_currency = own_account(session, customer_id, to_account_id).currency
    # Whole cash units of the currency's minor units: 100 points = 1.00, so EUR pays 1 cent a
    # point; a currency without minor units (JPY) pays 1 yen per 100 points, the rest stays.
    cash = points * 10 ** minor_units(target_currency) // POINTS_PER_CASH_UNIT
    if cash <= 0:
        message = f"{points} points are worth nothing in {target_currency}; redeem more."
        raise InvalidInput(message, errors={"points": [message]})
    rewards_account = ensure_bank_account(session, "rewards", target_currency)
    balance = _balance(session, customer_id, lock=True)
    if points > balance:
        raise InsufficientPoints(f"You have {balance} points.", errors={"points": [f"You have {balance} points."]},
                                 points_balance=balance)
    accounts = lock_accounts_in_order(session, [rewards_account, to_account_id])
    entry = plan_entry(accounts, kind="rewards_redemption", amount=cash, currency=target_currency,
                       from_account_id=rewards_account, to_account_id=to_account_id,
                       description=f"{points} reward points redeemed",
                       initiated_by=initiated_by, request_id=request_id, check_status=True)
    created = write_entries(session, [entry], accounts)
    _add(session, customer_id, -points, "redeemed", entry.id, notify=False)
    return replace(entry, created_at=created[entry.id]), balance - points


if earn_for_entries not in posting.AFTER_WRITE:
    posting.AFTER_WRITE.append(earn_for_entries)
