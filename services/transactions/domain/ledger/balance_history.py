"""End-of-day balances of an account (API.md: GET /api/v1/accounts/{id}/balance-history).

A posting carries the account's balance after it (`balance_after`, chained and checked by
the database since migration 0005), so each posting already is a snapshot: a day's closing
balance is the `balance_after` of the account's last posting before the next UTC midnight,
one index lookup on (account_id, created_at DESC, id DESC) per day, pruned to the partitions
up to that day. No day is recomputed from the postings, and no second copy of the balances
has to be kept in step with them. A day before the account's first posting closes at 0.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_DAYS = 366

_HISTORY = text("""
    SELECT day::date AS day,
           coalesce((SELECT p.balance_after FROM postings p
                      WHERE p.account_id = :account AND p.created_at < (day + interval '1 day') AT TIME ZONE 'UTC'
                      ORDER BY p.created_at DESC, p.id DESC LIMIT 1), 0) AS balance
      FROM generate_series(CAST(:first AS date)::timestamp, CAST(:last AS date)::timestamp, interval '1 day') AS day
     ORDER BY day
""")


def balance_history(session: Session, account_id: str, first: date, last: date) -> list[tuple[date, int]]:
    """(day, closing balance in minor units) for every day from `first` to `last`, inclusive."""
    rows = session.execute(_HISTORY, {"account": account_id, "first": first, "last": last}).all()
    return [(row.day, row.balance) for row in rows]
