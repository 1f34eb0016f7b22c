"""Bills (API.md "Scheduled transfers, bills, rewards"): a customer's bill from a biller, paid
to the biller's IBAN (an external transfer; an IBAN of this bank is an internal one) now by
the customer or by autopay on the due date, with a reminder and an overdue notice.

- `status` is derived: `paid` once it has its transfer, else `overdue` after its due date
  (UTC), else `upcoming`. A paid bill never changes again, a deleted one is kept (deleted_at)
  and never paid (trigger bills_guard, migration 0013).
- The runner (`run-due`, workflows/runner.py), for a day, in one transaction per bill:
  1. autopay: an unpaid autopay bill due on or before the day is paid through the customer's
     own posting path under the key `bill:<id>:<day>`; a refusal is recorded (last_error,
     last_attempt_date) and tried again once a day for AUTOPAY_DAYS days after the due date,
     never more than once a day;
  2. `bill.due` once, `reminder_days_before` days before an unpaid due date (or later, when the
     bill was created inside that window), not after it;
  3. `bill.overdue` once, the first day after an unpaid due date.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from services.common.amounts import from_minor
from services.common.transient import retry_transient
from services.common.outbox import publish

from ..ledger.errors import BillAlreadyPaid, NotFound
from ..ledger.transfers import Actor
from ..publishing import App
from ...models import bills
from .execute import automation_key, submit_transfer, transfer_action
from .own_accounts import check_pays_in, own_account

log = logging.getLogger(__name__)

AUTOPAY_DAYS = 3
CHANGEABLE = ("biller_name", "biller_iban", "amount_due", "due_date", "pay_from_account_id", "autopay",
              "reminder_days_before")


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


@dataclass(frozen=True)
class Bill:
    id: uuid.UUID
    customer_id: str
    biller_name: str
    biller_iban: str
    amount_due: int
    currency: str
    due_date: date
    pay_from_account_id: str
    autopay: bool
    reminder_days_before: int
    paid_transfer_id: uuid.UUID | None
    paid_at: datetime | None
    reminded_at: datetime | None
    overdue_notified_at: datetime | None
    last_attempt_date: date | None
    last_error: str | None
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def status(self, today: date | None = None) -> str:
        if self.paid_transfer_id is not None:
            return "paid"
        return "overdue" if self.due_date < (today or utc_today()) else "upcoming"

    def payment_request(self) -> dict[str, Any]:
        return {"from_account_id": self.pay_from_account_id, "to_iban": self.biller_iban,
                "beneficiary_name": self.biller_name, "amount": from_minor(self.amount_due, self.currency),
                "currency": self.currency, "description": f"Bill: {self.biller_name}"[:140]}

    def event(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "bill_id": str(self.id), "biller_name": self.biller_name,
                "amount_due": from_minor(self.amount_due, self.currency), "currency": self.currency,
                "due_date": self.due_date.isoformat()}


def _bill(row) -> Bill:
    return Bill(**row._mapping)


# --- the customer's side ------------------------------------------------------------------

def create_bill(session: Session, customer_id: str, **fields) -> Bill:
    _check_account(session, customer_id, fields["pay_from_account_id"], fields["currency"])
    row = session.execute(insert(bills).values(id=uuid.uuid4(), customer_id=customer_id, **fields)
                          .returning(*bills.c)).one()
    return _bill(row)


def _check_account(session: Session, customer_id: str, account_id: str, currency: str) -> None:
    check_pays_in(own_account(session, customer_id, account_id), currency)


def get_bill(session: Session, customer_id: str, bill_id: uuid.UUID, lock: bool = False) -> Bill:
    """The customer's bill; another's, or a deleted one, is 404."""
    query = select(bills).where(bills.c.id == bill_id, bills.c.customer_id == customer_id,
                                bills.c.deleted_at.is_(None))
    row = session.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFound(f"Bill {bill_id} does not exist.")
    return _bill(row)


def list_bills(session: Session, customer_id: str, limit: int = 200) -> list[Bill]:
    """By due date, the soonest first (a customer has tens of bills, not thousands)."""
    rows = session.execute(select(bills).where(bills.c.customer_id == customer_id, bills.c.deleted_at.is_(None))
                           .order_by(bills.c.due_date, bills.c.id).limit(limit)).all()
    return [_bill(row) for row in rows]


def change_bill(session: Session, customer_id: str, bill_id: uuid.UUID, changes: dict[str, Any]) -> Bill:
    bill = get_bill(session, customer_id, bill_id, lock=True)
    if bill.paid_transfer_id is not None:
        raise BillAlreadyPaid("The bill is paid; it no longer changes.", paid_transfer_id=str(bill.paid_transfer_id))
    values = {name: value for name, value in changes.items() if name in CHANGEABLE}
    if "pay_from_account_id" in values:
        _check_account(session, customer_id, values.get("pay_from_account_id", bill.pay_from_account_id),
                       bill.currency)
    if not values:
        return bill
    return _write(session, bill.id, {**values, "last_error": None, "last_attempt_date": None})


def delete_bill(session: Session, customer_id: str, bill_id: uuid.UUID) -> Bill:
    bill = get_bill(session, customer_id, bill_id, lock=True)
    if bill.paid_transfer_id is not None:
        raise BillAlreadyPaid("A paid bill is kept with its transfer.", paid_transfer_id=str(bill.paid_transfer_id))
    return _write(session, bill.id, {"deleted_at": func.now()})


def pay_bill(app: App, session: Session, actor: Actor, bill_id: uuid.UUID):
    """Pay now: (201, the transfer's body, its id); a refusal raises as the transfer's would."""
    bill = get_bill(session, actor.customer_id, bill_id, lock=True)
    if bill.paid_transfer_id is not None:
        raise BillAlreadyPaid("The bill is already paid.", paid_transfer_id=str(bill.paid_transfer_id))
    status, body, entry_id = transfer_action(app, session, actor, bill.payment_request())
    _write(session, bill.id, {"paid_transfer_id": entry_id, "paid_at": func.now(), "last_error": None})
    return status, {**body, "bill_id": str(bill.id)}, entry_id


def _write(session: Session, bill_id: uuid.UUID, values: dict) -> Bill:
    row = session.execute(update(bills).where(bills.c.id == bill_id).values(**values, updated_at=func.now())
                          .returning(*bills.c)).one()
    return _bill(row)


# --- the runner's side --------------------------------------------------------------------

_UNPAID = (bills.c.paid_transfer_id.is_(None), bills.c.deleted_at.is_(None))


def run_due_bills(app: App, session_factory: Callable[[], Session], day: date) -> dict[str, int]:
    counts = {"bills_paid": 0, "bills_failed": 0, "bill_reminders": 0, "bills_overdue": 0, "bills_errored": 0}
    autopay = (*_UNPAID, bills.c.autopay.is_(True), bills.c.due_date <= day,
               bills.c.due_date >= day - timedelta(days=AUTOPAY_DAYS),
               (bills.c.last_attempt_date.is_(None)) | (bills.c.last_attempt_date < day))
    remind = (*_UNPAID, bills.c.reminded_at.is_(None), bills.c.due_date >= day,
              bills.c.due_date - bills.c.reminder_days_before <= day)
    overdue = (*_UNPAID, bills.c.overdue_notified_at.is_(None), bills.c.due_date < day)
    for conditions, work in ((autopay, _autopay), (remind, _remind), (overdue, _overdue)):
        with session_factory() as session:
            ids = list(session.execute(select(bills.c.id).where(*conditions).order_by(bills.c.due_date, bills.c.id)
                                       ).scalars())
        for bill_id in ids:
            try:
                outcome = retry_transient(lambda: _one(app, session_factory, bill_id, conditions, work, day))
            except Exception:  # noqa: BLE001 - one broken bill must not stop the others
                log.exception("bill run failed", extra={"bill_id": str(bill_id)})
                counts["bills_errored"] += 1
                continue
            if outcome:
                counts[outcome] += 1
    return counts


def _one(app, session_factory, bill_id, conditions, work, day) -> str | None:
    with session_factory() as session, session.begin():
        row = session.execute(select(bills).where(bills.c.id == bill_id, *conditions)
                              .with_for_update(skip_locked=True)).one_or_none()
        return None if row is None else work(app, session, _bill(row), day)


def _autopay(app: App, session: Session, bill: Bill, day: date) -> str:
    outcome = submit_transfer(app, session, bill.customer_id, bill.payment_request(),
                              automation_key("bill", bill.id, day))
    if outcome.ok:
        _write(session, bill.id, {"paid_transfer_id": uuid.UUID(outcome.transfer_id), "paid_at": func.now(),
                                  "last_attempt_date": day, "last_error": None})
        return "bills_paid"
    _write(session, bill.id, {"last_attempt_date": day, "last_error": outcome.error_code})
    return "bills_failed"


def _remind(app: App, session: Session, bill: Bill, day: date) -> str:
    publish(app, session, "bill.due", bill.event())
    _write(session, bill.id, {"reminded_at": func.now()})
    return "bill_reminders"


def _overdue(app: App, session: Session, bill: Bill, day: date) -> str:
    publish(app, session, "bill.overdue", bill.event())
    _write(session, bill.id, {"overdue_notified_at": func.now()})
    return "bills_overdue"
