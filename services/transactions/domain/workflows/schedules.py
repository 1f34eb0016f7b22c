"""Scheduled and recurring transfers (API.md "Scheduled transfers, bills, rewards"): a
customer's standing orders, their changes, and the runs the runner executes.

A schedule keeps `next_run_date`, the first date not yet handled; the runner takes every
active schedule whose next date has come, under a row lock (a second runner skips it), and
handles each date from there up to the day it runs for, each date once: a row in
scheduled_runs (primary key (schedule, date)) and a transfer under the key
`schedule:<id>:<date>` through the customer's own posting path (workflows/execute.py). A
refusal (insufficient funds, a frozen account, ...) is recorded with its code, notified by
`scheduled_transfer.failed` and not retried: the schedule moves on to its next date.

Catch-up after an outage: every missed date of an active schedule is run once, in order.
A paused schedule runs nothing; on resume it continues from the first date not before the
day of the resume (what was missed while paused is skipped, as the customer asked).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from services.common.amounts import from_minor
from services.common.transient import retry_transient
from services.common.outbox import publish

from ..ledger.accounts import get_accounts
from ..ledger.errors import AccountClosed, InvalidInput, InvalidState, NotFound, SameAccount
from ..publishing import App
from ...models import scheduled_runs, scheduled_transfers
from .execute import automation_key, submit_transfer
from .own_accounts import check_pays_in, own_account
from .recurrence import Recurrence, ScheduleError

log = logging.getLogger(__name__)

OPEN = ("active", "paused")
# How far ahead a standing order may start: further is a mistake more often than a plan.
MAX_START_AHEAD = timedelta(days=5 * 366)


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


@dataclass(frozen=True)
class Schedule:
    id: uuid.UUID
    customer_id: str
    from_account_id: str
    to_account_id: str | None
    to_iban: str | None
    beneficiary_name: str | None
    amount: int
    currency: str
    description: str
    frequency: str
    start_date: date
    end_date: date | None
    day_of_month: int | None
    status: str
    next_run_date: date | None
    created_at: datetime
    updated_at: datetime

    @property
    def recurrence(self) -> Recurrence:
        return Recurrence(self.frequency, self.start_date, self.end_date, self.day_of_month)

    def transfer_request(self) -> dict[str, Any]:
        request = {"from_account_id": self.from_account_id, "amount": from_minor(self.amount, self.currency),
                   "currency": self.currency, "description": self.description or "Scheduled transfer"}
        if self.to_iban:
            return {**request, "to_iban": self.to_iban, "beneficiary_name": self.beneficiary_name}
        return {**request, "to_account_id": self.to_account_id}


@dataclass(frozen=True)
class Run:
    schedule_id: uuid.UUID
    run_date: date
    status: str
    transfer_id: uuid.UUID | None
    error_code: str | None
    created_at: datetime


def _schedule(row) -> Schedule:
    return Schedule(**row._mapping)


def _invalid(field: str, message: str) -> InvalidInput:
    """Named as the request names it: the recurrence's fields sit under `schedule`."""
    return InvalidInput(message, errors={f"schedule.{field}": [message]})


# --- the customer's side ------------------------------------------------------------------

def create_schedule(session: Session, customer_id: str, *, from_account_id: str, amount: int, currency: str,
                    description: str, frequency: str, start_date: date, end_date: date | None = None,
                    day_of_month: int | None = None, to_account_id: str | None = None,
                    to_iban: str | None = None, beneficiary_name: str | None = None,
                    today: date | None = None) -> Schedule:
    today = today or utc_today()
    try:
        recurrence = Recurrence(frequency, start_date, end_date, day_of_month)
    except ScheduleError as error:
        raise _invalid(error.field, str(error)) from None
    if frequency != "monthly" and day_of_month is not None:
        raise _invalid("day_of_month", "Only a monthly schedule names a day of the month.")
    if start_date < today:
        raise _invalid("start_date", "A schedule starts today or later.")
    if start_date > today + MAX_START_AHEAD:
        raise _invalid("start_date", "A schedule starts within five years.")
    first = recurrence.next_date()
    if first is None:
        raise _invalid("end_date", "The schedule has no run date between its start and its end.")
    _check_accounts(session, customer_id, from_account_id, to_account_id, currency)
    row = session.execute(insert(scheduled_transfers).values(
        id=uuid.uuid4(), customer_id=customer_id, from_account_id=from_account_id, to_account_id=to_account_id,
        to_iban=to_iban, beneficiary_name=beneficiary_name, amount=amount, currency=currency,
        description=description, frequency=frequency, start_date=start_date, end_date=end_date,
        day_of_month=day_of_month, status="active", next_run_date=first,
    ).returning(*scheduled_transfers.c)).one()
    return _schedule(row)


def _check_accounts(session: Session, customer_id: str, from_account_id: str, to_account_id: str | None,
                    currency: str) -> None:
    """Whose the accounts are, the currency, open or closed: what can be known now."""
    source = own_account(session, customer_id, from_account_id)
    if to_account_id is not None:
        found = get_accounts(session, [to_account_id])
        if not found or found[0].kind != "customer":
            raise NotFound(f"Account {to_account_id} does not exist.", account_id=to_account_id)
        if to_account_id == from_account_id:
            raise SameAccount("A schedule moves money to another account.")
        if found[0].status == "closed":
            raise AccountClosed("The account is closed.", account_id=to_account_id)
    check_pays_in(source, currency)


def get_schedule(session: Session, customer_id: str | None, schedule_id: uuid.UUID,
                 lock: bool = False) -> Schedule:
    """The customer's schedule (any, for customer_id None: an admin); another's is 404."""
    query = select(scheduled_transfers).where(scheduled_transfers.c.id == schedule_id)
    if customer_id is not None:
        query = query.where(scheduled_transfers.c.customer_id == customer_id)
    row = session.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFound(f"Scheduled transfer {schedule_id} does not exist.")
    return _schedule(row)


def list_schedules(session: Session, customer_id: str | None, limit: int,
                   after: tuple[datetime, uuid.UUID] | None = None) -> tuple[list[Schedule], tuple | None]:
    """Newest first, keyset-paged on (created_at, id)."""
    table = scheduled_transfers
    query = select(table)
    if customer_id is not None:
        query = query.where(table.c.customer_id == customer_id)
    if after is not None:
        query = query.where(or_(table.c.created_at < after[0],
                                and_(table.c.created_at == after[0], table.c.id < after[1])))
    rows = session.execute(query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)).all()
    found = [_schedule(row) for row in rows[:limit]]
    return found, ((found[-1].created_at, found[-1].id) if len(rows) > limit else None)


def change_schedule(session: Session, customer_id: str | None, schedule_id: uuid.UUID, *,
                    status: str | None = None, amount: int | None = None,
                    today: date | None = None) -> Schedule:
    """Pause (`status: paused`), resume (`active`), or change the amount."""
    schedule = get_schedule(session, customer_id, schedule_id, lock=True)
    if schedule.status not in OPEN:
        raise InvalidState(f"The schedule is {schedule.status}.", state=schedule.status)
    values: dict[str, Any] = {}
    if amount is not None:
        values["amount"] = amount
    if status == "paused" and schedule.status == "active":
        values["status"] = "paused"
    elif status == "active" and schedule.status == "paused":
        following = schedule.recurrence.next_date(after=(today or utc_today()) - timedelta(days=1))
        values.update(status="active" if following else "finished", next_run_date=following)
    elif status is not None and status != schedule.status:
        raise InvalidState(f"A {schedule.status} schedule cannot become {status}.", state=schedule.status)
    return _write(session, schedule.id, values) if values else schedule


def cancel_schedule(session: Session, customer_id: str | None, schedule_id: uuid.UUID) -> Schedule:
    schedule = get_schedule(session, customer_id, schedule_id, lock=True)
    if schedule.status not in OPEN:
        raise InvalidState(f"The schedule is {schedule.status}.", state=schedule.status)
    return _write(session, schedule.id, {"status": "cancelled", "next_run_date": None})


def _write(session: Session, schedule_id: uuid.UUID, values: dict) -> Schedule:
    row = session.execute(update(scheduled_transfers).where(scheduled_transfers.c.id == schedule_id)
                          .values(**values, updated_at=datetime.now(timezone.utc))
                          .returning(*scheduled_transfers.c)).one()
    return _schedule(row)


def list_runs(session: Session, customer_id: str | None, schedule_id: uuid.UUID, limit: int = 100) -> list[Run]:
    get_schedule(session, customer_id, schedule_id)
    rows = session.execute(select(scheduled_runs).where(scheduled_runs.c.schedule_id == schedule_id)
                           .order_by(scheduled_runs.c.run_date.desc()).limit(limit)).all()
    return [Run(**row._mapping) for row in rows]


# --- the runner's side --------------------------------------------------------------------

def due_schedule_ids(session: Session, day: date, limit: int) -> list[uuid.UUID]:
    return list(session.execute(
        select(scheduled_transfers.c.id)
        .where(scheduled_transfers.c.status == "active", scheduled_transfers.c.next_run_date <= day)
        .order_by(scheduled_transfers.c.next_run_date, scheduled_transfers.c.id).limit(limit)).scalars())


def run_due_schedules(app: App, session_factory: Callable[[], Session], day: date,
                      batch: int = 500) -> dict[str, int]:
    """Every run due on or before `day`, each once; one transaction per schedule. A schedule
    whose run breaks unexpectedly (not a refusal: those are recorded runs) is logged, counted
    in `schedules_errored` and left due for the next pass; the others go on."""
    counts = {"runs_posted": 0, "runs_failed": 0, "schedules_skipped": 0, "schedules_errored": 0}
    seen: set[uuid.UUID] = set()
    while True:
        with session_factory() as session:
            ids = [i for i in due_schedule_ids(session, day, batch + len(seen)) if i not in seen]
        if not ids:
            return counts
        for schedule_id in ids:
            seen.add(schedule_id)
            try:
                ran = retry_transient(lambda: _in_transaction(app, session_factory, schedule_id, day))
            except Exception:  # noqa: BLE001 - one broken schedule must not stop the bank's others
                log.exception("scheduled transfer run failed", extra={"schedule_id": str(schedule_id)})
                counts["schedules_errored"] += 1
                continue
            if ran is None:
                counts["schedules_skipped"] += 1
                continue
            for run in ran:
                counts["runs_posted" if run.status == "posted" else "runs_failed"] += 1


def _in_transaction(app: App, session_factory: Callable[[], Session], schedule_id: uuid.UUID, day: date):
    with session_factory() as session, session.begin():
        return run_schedule(app, session, schedule_id, day)


def run_schedule(app: App, session: Session, schedule_id: uuid.UUID, day: date) -> list[Run] | None:
    """The due dates of one schedule up to `day`; None when another runner holds it or it is
    no longer due. In the caller's transaction."""
    row = session.execute(select(scheduled_transfers).where(
        scheduled_transfers.c.id == schedule_id, scheduled_transfers.c.status == "active",
        scheduled_transfers.c.next_run_date <= day).with_for_update(skip_locked=True)).one_or_none()
    if row is None:
        return None
    schedule = _schedule(row)
    runs = [_run_once(app, session, schedule, run_date)
            for run_date in schedule.recurrence.due(schedule.next_run_date - timedelta(days=1), day)]
    following = schedule.recurrence.next_date(after=day)
    _write(session, schedule.id, {"next_run_date": following, "status": "active" if following else "finished"})
    return [run for run in runs if run is not None]


def _run_once(app: App, session: Session, schedule: Schedule, run_date: date) -> Run | None:
    """One date: the transfer under the date's key, then its row. The schedule's row lock keeps
    a second runner out; the key and the (schedule, date) key keep a repeated pass from moving
    money twice (it replays the stored answer and finds the row)."""
    outcome = submit_transfer(app, session, schedule.customer_id, schedule.transfer_request(),
                              automation_key("schedule", schedule.id, run_date))
    status = "posted" if outcome.ok else "failed"
    transfer_id = uuid.UUID(outcome.transfer_id) if outcome.ok else None
    inserted = session.execute(pg_insert(scheduled_runs).values(
        schedule_id=schedule.id, run_date=run_date, status=status, transfer_id=transfer_id,
        error_code=outcome.error_code).on_conflict_do_nothing()).rowcount
    if not inserted:
        return None
    if not outcome.ok:
        publish(app, session, "scheduled_transfer.failed", {
            "customer_id": schedule.customer_id, "schedule_id": str(schedule.id),
            "run_date": run_date.isoformat(), "error_code": outcome.error_code,
            "amount": from_minor(schedule.amount, schedule.currency), "currency": schedule.currency,
            "from_account_id": schedule.from_account_id})
    return Run(schedule.id, run_date, status, transfer_id, outcome.error_code, datetime.now(timezone.utc))
