"""Balances of the chart's accounts and the trial balance, from the ledger and the posted
manual journal entries.

Ledger side: per (ledger kind, currency), the sum of the postings up to `at` (for now, the
stored balances, which the database keeps equal to the postings), rolled up to the leaf that
holds that kind in that currency (unmapped kinds: the suspense leaf). Manual side: the
posted lines with an effective date on or before `at`'s UTC date. Every ledger entry and
every manual entry balances per currency, so per currency the debit column equals the credit
column. Each account shows its net balance on one side (a debit or a credit), as a trial
balance does; see chart.py for the signs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common.amounts import from_minor

from .chart import SUSPENSE, ChartAccount, chart, leaf_code, sync_chart
from .values import rfc3339, utc_now

_LEDGER_NOW = text("""
    SELECT kind, currency::text AS currency, sum(balance) AS net, count(*) AS n
      FROM ledger_accounts GROUP BY kind, currency
""")
_LEDGER_AT = text("""
    SELECT a.kind, p.currency::text AS currency, sum(p.amount) AS net, count(*) AS n
      FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
     WHERE p.created_at <= :at
     GROUP BY a.kind, p.currency
""")
_MANUAL = text("""
    SELECT l.account_code, sum(l.credit) - sum(l.debit) AS net
      FROM manual_journal_lines l JOIN manual_journal_entries e ON e.id = l.entry_id
     WHERE e.status = 'posted' AND e.effective_date <= :day
     GROUP BY l.account_code
""")


@dataclass(frozen=True)
class Books:
    at: datetime
    accounts: list[ChartAccount]
    net: dict[str, int]    # leaf code -> credit minus debit, minor units
    active: set[str]       # leaves with any ledger account or posted line


def books_at(session: Session, at: datetime | None = None) -> Books:
    """The chart (synced) and the net amount of every leaf at `at` (default now)."""
    now = utc_now()
    at = at or now
    sync_chart(session)
    accounts = chart(session)
    by_kind = {(a.ledger_kind, a.currency): a.code for a in accounts if a.ledger_kind}
    codes = {a.code for a in accounts}
    net: dict[str, int] = {}
    active: set[str] = set()
    ledger = session.execute(_LEDGER_NOW) if at >= now else session.execute(_LEDGER_AT, {"at": at})
    for row in ledger:
        code = by_kind.get((row.kind, row.currency)) or leaf_code(SUSPENSE, row.currency)
        if code not in codes:  # a currency sync_chart could not make a leaf for: keep it visible
            code = leaf_code(SUSPENSE, row.currency)
        net[code] = net.get(code, 0) + int(row.net or 0)
        active.add(code)
    for row in session.execute(_MANUAL, {"day": at.astimezone(timezone.utc).date()}):
        net[row.account_code] = net.get(row.account_code, 0) + int(row.net)
        active.add(row.account_code)
    return Books(at, accounts, net, active)


def _currency_of(code: str) -> str:
    return code.rsplit("-", 1)[1]


def chart_with_balances(session: Session) -> list[dict]:
    """Every account of the chart with its balance (normal side; headers roll up per currency)."""
    books = books_at(session)
    parents = {a.code: a.parent_code for a in books.accounts}
    rolled: dict[str, dict[str, int]] = {}
    for account in books.accounts:
        if not account.is_leaf:
            continue
        amount = account.normal(books.net.get(account.code, 0))
        parent = account.parent_code
        while parent is not None:
            per_currency = rolled.setdefault(parent, {})
            per_currency[account.currency] = per_currency.get(account.currency, 0) + amount
            parent = parents.get(parent)
    items = []
    for account in books.accounts:
        item = {"code": account.code, "name": account.name, "type": account.type,
                "parent_code": account.parent_code, "currency": account.currency,
                "ledger_kind": account.ledger_kind, "postable": account.postable}
        if account.is_leaf:
            item["balance"] = from_minor(account.normal(books.net.get(account.code, 0)), account.currency)
            item["balances"] = {account.currency: item["balance"]}
        else:
            item["balance"] = None
            item["balances"] = {c: from_minor(v, c) for c, v in sorted(rolled.get(account.code, {}).items())}
        items.append(item)
    return items


def trial_balance(session: Session, at: datetime | None = None) -> dict:
    books = books_at(session, at)
    names = {a.code: a for a in books.accounts}
    accounts, totals = [], {}
    for code in sorted(books.active):
        account = names.get(code)
        currency = account.currency if account else _currency_of(code)
        amount = books.net.get(code, 0)
        debit, credit = (-amount, 0) if amount < 0 else (0, amount)
        pair = totals.setdefault(currency, [0, 0])
        pair[0] += debit
        pair[1] += credit
        accounts.append({"code": code, "name": account.name if account else code,
                         "type": account.type if account else "asset", "currency": currency,
                         "debit": from_minor(debit, currency), "credit": from_minor(credit, currency)})
    return {"at": rfc3339(books.at), "accounts": accounts,
            "totals": {c: {"debit": from_minor(d, c), "credit": from_minor(k, c)} for c, (d, k) in sorted(totals.items())}}
