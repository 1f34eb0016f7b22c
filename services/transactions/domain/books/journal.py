"""Manual journal entries: an accountant's entries on the chart of accounts, kept apart from
the ledger's journal_entries (which move customer money between ledger accounts, carry
running balances and are checked by the ledger integrity check).

An entry has two or more lines, each a debit or a credit on a leaf of the chart in the leaf's
currency (never on the customer deposits control: customer balances move only through the
ledger), and balances per currency. It is created as a `draft`, then `posted` (from then on
immutable: it counts in the trial balance and the chart's balances) or `voided`. A posted
entry is corrected with another entry. Nothing is created or posted with an effective date
inside a closed fiscal period (409 period_closed). The database enforces all of it too
(migration 0007).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common import cursors
from services.common.amounts import from_minor
from services.common.errors import Problem

from .chart import accounts_by_code, sync_chart
from .db import guarded
from .periods import EARLIEST, refuse_closed
from .values import invalid, newest_first_page, rfc3339, utc_today

MAX_LINES = 100
MAX_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class LineInput:
    account_code: str
    currency: str
    debit: int   # minor units; exactly one of debit and credit is > 0
    credit: int


@dataclass(frozen=True)
class Line:
    line_no: int
    account_code: str
    currency: str
    debit: int
    credit: int

    def as_json(self) -> dict:
        return {"line_no": self.line_no, "account_code": self.account_code, "currency": self.currency,
                "debit": from_minor(self.debit, self.currency) if self.debit else None,
                "credit": from_minor(self.credit, self.currency) if self.credit else None}


@dataclass(frozen=True)
class Entry:
    id: uuid.UUID
    description: str
    effective_date: date
    status: str
    created_at: datetime
    created_by: str
    posted_at: datetime | None
    posted_by: str | None
    voided_at: datetime | None
    voided_by: str | None
    lines: tuple[Line, ...]

    def as_json(self) -> dict:
        return {"id": str(self.id), "description": self.description,
                "effective_date": self.effective_date.isoformat(), "status": self.status,
                "lines": [line.as_json() for line in self.lines],
                "created_at": rfc3339(self.created_at), "created_by": self.created_by,
                "posted_at": rfc3339(self.posted_at) if self.posted_at else None, "posted_by": self.posted_by,
                "voided_at": rfc3339(self.voided_at) if self.voided_at else None, "voided_by": self.voided_by}


_COLUMNS = "id, description, effective_date, status, created_at, created_by, posted_at, posted_by, voided_at, voided_by"


def check_effective_date(day: date, today: date | None = None) -> date:
    today = today or utc_today()
    if day < EARLIEST or day > today + MAX_AHEAD:
        raise invalid("effective_date", f"An effective date from {EARLIEST} to a year ahead.")
    return day


def unbalanced(lines: list[LineInput]) -> dict[str, dict[str, str]]:
    """Per currency whose debits and credits differ: both totals as decimal strings."""
    totals: dict[str, list[int]] = {}
    for line in lines:
        pair = totals.setdefault(line.currency, [0, 0])
        pair[0] += line.debit
        pair[1] += line.credit
    return {currency: {"debit": from_minor(d, currency), "credit": from_minor(c, currency)}
            for currency, (d, c) in sorted(totals.items()) if d != c}


def create_entry(session: Session, *, description: str, effective_date: date, lines: list[LineInput],
                 created_by: str, request_id: str | None = None) -> Entry:
    check_effective_date(effective_date)
    if not 2 <= len(lines) <= MAX_LINES:
        raise invalid("lines", f"A journal entry has 2 to {MAX_LINES} lines.")
    sync_chart(session, sorted({line.currency for line in lines}))
    accounts = accounts_by_code(session, sorted({line.account_code for line in lines}))
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        field = f"lines.{index}.account_code"
        account = accounts.get(line.account_code)
        if account is None:
            errors[field] = [f"No account {line.account_code!r} in the chart of accounts."]
        elif not account.is_leaf:
            errors[field] = [f"{line.account_code} is a header; lines go to its leaves "
                             f"({line.account_code}-<currency>)."]
        elif account.ledger_kind == "customer":
            errors[field] = ["Customer accounts take no manual lines."]
        elif account.currency != line.currency:
            errors[f"lines.{index}.currency"] = [f"{line.account_code} holds {account.currency}."]
    if errors:
        raise Problem(422, "validation_error", "The entry has invalid lines.", errors=errors)
    off = unbalanced(lines)
    if off:
        raise Problem(422, "unbalanced_entry", "Debits and credits differ per currency.", currencies=off)
    refuse_closed(session, effective_date)
    entry_id = uuid.uuid4()
    with guarded(session):
        session.execute(text(
            "INSERT INTO manual_journal_entries (id, description, effective_date, created_by, request_id) "
            "VALUES (:id, :description, :day, :by, :request_id)"),
            {"id": entry_id, "description": description, "day": effective_date, "by": created_by,
             "request_id": request_id})
        session.execute(text(
            "INSERT INTO manual_journal_lines (entry_id, line_no, account_code, currency, debit, credit) "
            "SELECT :entry, n, code, currency, debit, credit FROM unnest(CAST(:codes AS text[]), "
            "CAST(:currencies AS text[]), CAST(:debits AS bigint[]), CAST(:credits AS bigint[])) "
            "WITH ORDINALITY AS l(code, currency, debit, credit, n) ORDER BY n"),
            {"entry": entry_id, "codes": [line.account_code for line in lines],
             "currencies": [line.currency for line in lines], "debits": [line.debit for line in lines],
             "credits": [line.credit for line in lines]})
        # The deferred balance checks run here, inside the savepoint, not at commit.
        session.execute(text("SET CONSTRAINTS manual_lines_balanced, manual_entry_has_lines IMMEDIATE"))
    session.execute(text("SET CONSTRAINTS manual_lines_balanced, manual_entry_has_lines DEFERRED"))
    return get_entry(session, str(entry_id))


def _uuid(entry_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(entry_id)
    except ValueError:
        return None


def _lines(session: Session, entry_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Line]]:
    found: dict[uuid.UUID, list[Line]] = {}
    rows = session.execute(text(
        "SELECT entry_id, line_no, account_code, currency, debit, credit FROM manual_journal_lines "
        "WHERE entry_id = ANY(CAST(:ids AS uuid[])) ORDER BY entry_id, line_no"), {"ids": entry_ids}).all()
    for row in rows:
        found.setdefault(row.entry_id, []).append(
            Line(row.line_no, row.account_code, row.currency.strip(), row.debit, row.credit))
    return found


def _entry(row, lines: list[Line]) -> Entry:
    return Entry(**row._mapping, lines=tuple(lines))


def get_entry(session: Session, entry_id: str, *, lock: bool = False) -> Entry:
    key = _uuid(entry_id)
    row = None if key is None else session.execute(text(
        f"SELECT {_COLUMNS} FROM manual_journal_entries WHERE id = :id" + (" FOR UPDATE" if lock else "")),
        {"id": key}).first()
    if row is None:
        raise Problem(404, "not_found", f"Journal entry {entry_id} does not exist.")
    return _entry(row, _lines(session, [key]).get(key, []))


def _change(session: Session, entry_id: str, to_status: str, by: str) -> Entry:
    entry = get_entry(session, entry_id, lock=True)
    if entry.status != "draft":
        verb = "posted" if to_status == "posted" else "voided"
        raise Problem(409, "invalid_state", f"Only a draft entry is {verb}; this one is {entry.status}"
                      + (" (reverse it with a new entry instead)." if entry.status == "posted" else "."),
                      status_now=entry.status)
    if to_status == "posted":
        refuse_closed(session, entry.effective_date)
    stamp = "posted" if to_status == "posted" else "voided"
    with guarded(session):
        session.execute(text(
            f"UPDATE manual_journal_entries SET status = :status, {stamp}_at = clock_timestamp(), "
            f"{stamp}_by = :by WHERE id = :id"), {"status": to_status, "by": by, "id": entry.id})
    return get_entry(session, entry_id)


def post_entry(session: Session, entry_id: str, posted_by: str) -> Entry:
    """draft -> posted: from now on immutable, and in the books."""
    return _change(session, entry_id, "posted", posted_by)


def void_entry(session: Session, entry_id: str, voided_by: str) -> Entry:
    """draft -> voided: kept, counted nowhere."""
    return _change(session, entry_id, "voided", voided_by)


def list_entries(session: Session, *, limit: int, cursor: str | None = None,
                 status: str | None = None) -> tuple[list[Entry], str | None]:
    """Newest first by creation."""
    query, params = newest_first_page("manual_journal_entries", _COLUMNS, ("created_at", "id"), limit=limit,
                                      after=cursors.after(cursor, cursors.moment, uuid.UUID), status=status)
    rows = session.execute(text(query), params).all()
    page = rows[:limit]
    lines = _lines(session, [row.id for row in page])
    entries = [_entry(row, lines.get(row.id, [])) for row in page]
    next_cursor = cursors.encode(entries[-1].created_at, entries[-1].id) if len(rows) > limit else None
    return entries, next_cursor
