"""Statements: an account's postings newest first, keyset-paginated on (created_at, id).

The index ix_postings_statement (account_id, created_at DESC, id DESC) serves every page
in the same time, however deep: no OFFSET, no count.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select, tuple_
from sqlalchemy.orm import Session

from services.common import cursors

from ...models import journal_entries, line_categories, postings


@dataclass(frozen=True)
class StatementLine:
    id: int
    transfer_id: str
    kind: str
    amount: int
    currency: str
    balance_after: int
    description: str
    category: str | None
    created_at: datetime
    merchant: str | None = None
    categorized_by: str | None = None   # request, rule, default, or customer (re-categorised)


def statement_page(session: Session, account_id: str, *, limit: int, cursor: str | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   category: str | None = None, line_id: int | None = None) -> tuple[list[StatementLine], str | None]:
    conditions = [postings.c.account_id == account_id]
    if line_id is not None:
        conditions.append(postings.c.id == line_id)
    if cursor:
        created_at, posting_id = cursors.decode(cursor, cursors.moment, cursors.row_number)
        conditions.append(tuple_(postings.c.created_at, postings.c.id) < tuple_(created_at, posting_id))
    if since is not None:
        conditions.append(postings.c.created_at >= since)
    if until is not None:
        conditions.append(postings.c.created_at < until)
    # A customer's re-categorisation (line_categories) is the line's category from then on.
    shown = func.coalesce(line_categories.c.category, postings.c.category)
    if category is not None:
        conditions.append(shown == category)
    rows = session.execute(
        select(postings.c.id, postings.c.entry_id, journal_entries.c.kind, postings.c.amount,
               postings.c.currency, postings.c.balance_after, journal_entries.c.description,
               shown.label("category"), postings.c.created_at, journal_entries.c.merchant,
               case((line_categories.c.category.is_not(None), "customer"),
                    else_=postings.c.categorized_by).label("categorized_by"))
        .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
        .outerjoin(line_categories, line_categories.c.posting_id == postings.c.id)
        .where(and_(*conditions))
        .order_by(postings.c.created_at.desc(), postings.c.id.desc())
        .limit(limit + 1)
    ).all()
    lines = [StatementLine(row.id, str(row.entry_id), row.kind, row.amount, row.currency.strip(),
                           row.balance_after, row.description, row.category, row.created_at, row.merchant,
                           row.categorized_by)
             for row in rows[:limit]]
    next_cursor = cursors.encode(lines[-1].created_at, lines[-1].id) if len(rows) > limit else None
    return lines, next_cursor


def statement_line(session: Session, account_id: str, line_id: int) -> StatementLine:
    lines, _ = statement_page(session, account_id, limit=1, line_id=line_id)
    return lines[0]
