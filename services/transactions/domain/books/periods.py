"""Fiscal periods: date ranges (both ends inclusive, UTC) that never overlap; closing one is
final and allowed once its last day is over. Nothing posts with an effective date inside a
closed period: manual journal entries are refused at create and at post (409
period_closed, here and by a trigger), and the ledger's own postings are dated now, which a
closed period, ended before today, never holds (`period_closed_on` is the check for any
other path that dates postings)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common import cursors
from services.common.errors import Problem

from .db import guarded
from .values import invalid, newest_first_page, rfc3339, utc_today

EARLIEST = date(1970, 1, 1)
LATEST = date(2999, 12, 31)


@dataclass(frozen=True)
class Period:
    id: uuid.UUID
    name: str
    start_date: date
    end_date: date
    status: str
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None

    def as_json(self) -> dict:
        return {"id": str(self.id), "name": self.name, "start_date": self.start_date.isoformat(),
                "end_date": self.end_date.isoformat(), "status": self.status,
                "created_at": rfc3339(self.created_at), "created_by": self.created_by,
                "closed_at": rfc3339(self.closed_at) if self.closed_at else None, "closed_by": self.closed_by}


_COLUMNS = "id, name, start_date, end_date, status, created_at, created_by, closed_at, closed_by"


def _period(row) -> Period:
    return Period(**row._mapping)


def check_date(value: date, field: str) -> date:
    if not EARLIEST <= value <= LATEST:
        raise invalid(field, f"A date from {EARLIEST} to {LATEST}.")
    return value


def create_period(session: Session, *, name: str, start_date: date, end_date: date, created_by: str) -> Period:
    check_date(start_date, "start_date")
    check_date(end_date, "end_date")
    if end_date < start_date:
        raise invalid("end_date", "A period ends on or after its start.")
    other = session.execute(text(
        "SELECT id FROM fiscal_periods WHERE daterange(start_date, end_date, '[]') && daterange(:s, :e, '[]') "
        "LIMIT 1"), {"s": start_date, "e": end_date}).first()
    if other is not None:
        raise Problem(409, "period_overlaps", "The period overlaps another fiscal period.",
                      period_id=str(other.id))
    with guarded(session):  # a concurrent twin: the exclusion constraint decides
        row = session.execute(text(
            f"INSERT INTO fiscal_periods (id, name, start_date, end_date, created_by) "
            f"VALUES (:id, :name, :s, :e, :by) RETURNING {_COLUMNS}"),
            {"id": uuid.uuid4(), "name": name, "s": start_date, "e": end_date, "by": created_by}).one()
    return _period(row)


def get_period(session: Session, period_id: str, *, lock: bool = False) -> Period:
    try:
        key = uuid.UUID(period_id)
    except ValueError:
        key = None
    row = None if key is None else session.execute(text(
        f"SELECT {_COLUMNS} FROM fiscal_periods WHERE id = :id" + (" FOR UPDATE" if lock else "")),
        {"id": key}).first()
    if row is None:
        raise Problem(404, "not_found", f"Fiscal period {period_id} does not exist.")
    return _period(row)


def close_period(session: Session, period_id: str, closed_by: str) -> Period:
    period = get_period(session, period_id, lock=True)
    if period.status != "open":
        raise Problem(409, "invalid_state", "The period is already closed.", status_now=period.status)
    if period.end_date >= utc_today():
        raise Problem(409, "period_not_ended",
                      f"A fiscal period is closed only after its last day ({period.end_date}).")
    with guarded(session):
        row = session.execute(text(
            f"UPDATE fiscal_periods SET status = 'closed', closed_at = clock_timestamp(), closed_by = :by "
            f"WHERE id = :id RETURNING {_COLUMNS}"), {"id": period.id, "by": closed_by}).one()
    return _period(row)


def list_periods(session: Session, *, limit: int, cursor: str | None = None,
                 status: str | None = None) -> tuple[list[Period], str | None]:
    """Newest first by start date."""
    query, params = newest_first_page("fiscal_periods", _COLUMNS, ("start_date", "id"), limit=limit,
                                      after=cursors.after(cursor, cursors.day, uuid.UUID), status=status)
    rows = session.execute(text(query), params).all()
    periods = [_period(row) for row in rows[:limit]]
    next_cursor = cursors.encode(periods[-1].start_date, periods[-1].id) if len(rows) > limit else None
    return periods, next_cursor


def period_closed_on(session: Session, day: date) -> Period | None:
    """The closed period holding `day`, if any."""
    row = session.execute(text(
        f"SELECT {_COLUMNS} FROM fiscal_periods WHERE status = 'closed' AND start_date <= :d AND end_date >= :d"),
        {"d": day}).first()
    return _period(row) if row else None


def refuse_closed(session: Session, day: date) -> None:
    closed = period_closed_on(session, day)
    if closed is not None:
        raise Problem(409, "period_closed", f"The fiscal period {closed.name!r} holding {day} is closed.",
                      period_id=str(closed.id))
