"""Spending: money leaving a customer's accounts to anyone else (not between their own
accounts; incoming money never counts), kept per account, UTC day, category and currency
in spending_daily by the posting transaction itself, so budgets and insights sum at most a
month of days, converted into the asked currency at the rate in force on each line's day.

A budget crossed by a posting raises `budget.exceeded` once (budget_alerts' primary key):
the budget row is locked before its spending is summed, so of two concurrent transfers
that cross it together the second waits, then sees the first's spending, and the alert's
insert finds it already raised.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common.amounts import from_minor
from services.common.outbox import publish

from .. import publishing
from ..books.fx import convert, rate_at


def spending_sql(posting: str, customer: str) -> str:
    """spending_legs' rule in SQL, for a posting row `posting` of the customer `customer`."""
    return (f"{posting}.amount < 0 AND NOT EXISTS (SELECT 1 FROM postings q JOIN ledger_accounts b "
            f"ON b.id = q.account_id WHERE q.entry_id = {posting}.entry_id AND q.amount > 0 "
            f"AND b.customer_id = {customer})")


def spending_legs(entry):
    """The entry's legs that are spending: a customer's debit with no credit to that same
    customer in the entry (an own-account move, converted or not, is not spending)."""
    for leg in entry.legs:
        if leg.customer_id and leg.amount < 0 and not any(
                other.customer_id == leg.customer_id and other.amount > 0 for other in entry.legs):
            yield leg


_ADD = text("""
    INSERT INTO spending_daily AS s (customer_id, day, category, account_id, currency, amount, lines)
    SELECT customer_id, CAST(:day AS date), category, account_id, currency, sum(amount), sum(lines)
      FROM unnest(CAST(:customers AS text[]), CAST(:categories AS text[]), CAST(:accounts AS text[]),
                  CAST(:currencies AS text[]), CAST(:amounts AS bigint[]), CAST(:lines AS integer[]))
           AS l(customer_id, category, account_id, currency, amount, lines)
     GROUP BY customer_id, category, account_id, currency
     ORDER BY customer_id, category, account_id, currency
    ON CONFLICT (customer_id, day, category, account_id, currency)
    DO UPDATE SET amount = s.amount + EXCLUDED.amount, lines = s.lines + EXCLUDED.lines
""")


_TAKE = text("""
    UPDATE spending_daily AS s SET amount = s.amount - t.amount, lines = s.lines - t.lines
      FROM unnest(CAST(:customers AS text[]), CAST(:categories AS text[]), CAST(:accounts AS text[]),
                  CAST(:currencies AS text[]), CAST(:amounts AS bigint[]), CAST(:lines AS integer[]))
           AS t(customer_id, category, account_id, currency, amount, lines)
     WHERE s.customer_id = t.customer_id AND s.day = CAST(:day AS date) AND s.category = t.category
       AND s.account_id = t.account_id AND s.currency = t.currency
""")


def add_spending(session: Session, rows: list[tuple[str, str, str, str, int, int]], day: date) -> None:
    """rows: (customer, category, account, currency, minor units, lines); negative ones (a
    re-categorisation moving spending out of a category) are taken from the existing row
    (an upsert's insert would check them against the CHECKs before finding the row)."""
    for statement, chosen in ((_TAKE, [(*r[:4], -r[4], -r[5]) for r in rows if r[4] < 0]),
                              (_ADD, [r for r in rows if r[4] >= 0])):
        if chosen:
            columns = list(zip(*chosen))
            session.execute(statement, {"day": day, "customers": list(columns[0]), "categories": list(columns[1]),
                                        "accounts": list(columns[2]), "currencies": list(columns[3]),
                                        "amounts": list(columns[4]), "lines": list(columns[5])})


def record_spending(session: Session, entries: list, _accounts) -> None:
    """The posting path's hook (ledger/posting.AFTER_WRITE): the day's spending, then budgets."""
    by_day: dict[date, list[tuple]] = {}
    for entry in entries:
        day = entry.created_at.astimezone(timezone.utc).date()   # the line's UTC day, as its entry says
        by_day.setdefault(day, []).extend(
            (leg.customer_id, leg.category or "other", leg.account_id, leg.currency, -leg.amount, 1)
            for leg in spending_legs(entry))
    for day, rows in sorted(by_day.items()):
        if rows:
            add_spending(session, rows, day)
            check_budgets(session, sorted({(customer, category) for customer, category, *_ in rows}), day)


# --- reading spending ---------------------------------------------------------------------

@dataclass(frozen=True)
class Spent:
    amount: int      # minor units of the asked currency
    lines: int


def month_bounds(month: date) -> tuple[date, date]:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return month, following


_BY_DAY = text("""
    SELECT category, day, currency, sum(amount) AS amount, sum(lines) AS lines FROM spending_daily
     WHERE customer_id = :customer AND day >= :first AND day < :following
       AND (CAST(:category AS text) IS NULL OR category = :category)
       AND (CAST(:account AS text) IS NULL OR account_id = :account)
     GROUP BY category, day, currency
    HAVING sum(lines) > 0
""")


def spent_by_category(session: Session, customer_id: str, month: date, currency: str, *,
                      category: str | None = None, account_id: str | None = None) -> dict[str, Spent]:
    first, following = month_bounds(month)
    rates = _DayRates(session, currency)
    totals: dict[str, list[int]] = {}
    for row in session.execute(_BY_DAY, {"customer": customer_id, "first": first, "following": following,
                                         "category": category, "account": account_id}):
        converted = rates.convert(int(row.amount), row.currency.strip(), row.day)
        if converted is None:
            continue   # no rate for that day: left out rather than guessed
        found = totals.setdefault(row.category, [0, 0])
        found[0] += converted
        found[1] += int(row.lines)
    return {name: Spent(amount, lines) for name, (amount, lines) in totals.items()}


class _DayRates:
    """The rate in force at the end of each line's UTC day (now for today), once per day."""

    def __init__(self, session: Session, target: str):
        self.session, self.target = session, target
        self.cache: dict[tuple[str, date], Decimal | None] = {}

    def convert(self, amount: int, currency: str, day: date) -> int | None:
        if currency == self.target:
            return amount
        key = (currency, day)
        if key not in self.cache:
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc) - timedelta(microseconds=1)
            self.cache[key] = rate_at(self.session, currency, self.target, min(end, datetime.now(timezone.utc)))
        rate = self.cache[key]
        return None if rate is None else convert(amount, currency, self.target, rate)


# --- budgets crossing -----------------------------------------------------------------------

_OPEN_BUDGETS = text("""
    SELECT b.id, b.customer_id, b.category, b.currency, b.limit_amount, b.month FROM budgets b
      JOIN unnest(CAST(:customers AS text[]), CAST(:categories AS text[])) AS t(customer_id, category)
        ON b.customer_id = t.customer_id AND b.category = t.category
     WHERE b.month = date_trunc('month', CAST(:day AS date))
       AND NOT EXISTS (SELECT 1 FROM budget_alerts a WHERE a.budget_id = b.id)
     ORDER BY b.id
       FOR UPDATE OF b
""")

_RAISE = text("INSERT INTO budget_alerts (budget_id) VALUES (:id) ON CONFLICT DO NOTHING RETURNING budget_id")


def check_budgets(session: Session, touched: list[tuple[str, str]], day: date) -> int:
    """Raise budget.exceeded for each budget of `touched` (customer, category) this month that
    its spending has now taken past its limit, once; how many were raised."""
    if not touched:
        return 0
    raised = 0
    budgets = session.execute(_OPEN_BUDGETS, {"customers": [c for c, _ in touched],
                                              "categories": [k for _, k in touched], "day": day}).all()
    for budget in budgets:
        spent = spent_by_category(session, budget.customer_id, budget.month, budget.currency.strip(),
                                  category=budget.category).get(budget.category, Spent(0, 0))
        if spent.amount <= budget.limit_amount:
            continue
        if session.execute(_RAISE, {"id": budget.id}).first() is None:
            continue
        raised += 1
        app = publishing.running_app()
        if app is not None:
            currency = budget.currency.strip()
            publish(app, session, "budget.exceeded", {
                "customer_id": budget.customer_id, "budget_id": str(budget.id),
                "month": budget.month.strftime("%Y-%m"), "category": budget.category, "currency": currency,
                "limit": from_minor(budget.limit_amount, currency), "spent": from_minor(spent.amount, currency)})
    return raised


def percent(spent: int, limit: int) -> str:
    return str((Decimal(spent) * 100 / Decimal(limit)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


# The spending of a ledger written without the aggregates (a seed's COPY, migration 0016 on a
# ledger that already had postings): the same rule as spending_legs, in SQL.
BACKFILL_SPENDING = text(f"""
    INSERT INTO spending_daily (customer_id, day, category, account_id, currency, amount, lines)
    SELECT a.customer_id, CAST(e.created_at AT TIME ZONE 'UTC' AS date), coalesce(p.category, 'other'),
           p.account_id, p.currency, -sum(p.amount), count(*)
      FROM postings p
      JOIN ledger_accounts a ON a.id = p.account_id AND a.kind = 'customer'
      JOIN journal_entries e ON e.id = p.entry_id
     WHERE {spending_sql("p", "a.customer_id")}
     GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (customer_id, day, category, account_id, currency)
    DO UPDATE SET amount = spending_daily.amount + EXCLUDED.amount, lines = spending_daily.lines + EXCLUDED.lines
""")
