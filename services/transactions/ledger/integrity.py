"""The ledger integrity check: what must hold whatever happened.

Every entry balances per currency and has at least two postings; every account's balance
equals the sum of its postings and its last running balance; no posting or entry points
at something that does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

CHECKS = {
    "unbalanced_entry": """
        SELECT entry_id::text AS subject, currency || ' sums to ' || sum(amount) AS detail
        FROM postings GROUP BY entry_id, currency HAVING sum(amount) <> 0""",
    "entry_without_two_postings": """
        SELECT e.id::text AS subject, count(p.id) || ' posting(s)' AS detail
        FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
        GROUP BY e.id HAVING count(p.id) < 2""",
    "balance_differs_from_postings": """
        SELECT a.id AS subject, 'balance ' || a.balance || ' but postings sum to ' || coalesce(s.total, 0) AS detail
        FROM ledger_accounts a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) s
               ON s.account_id = a.id
        WHERE a.balance <> coalesce(s.total, 0)""",
    "running_balance_differs": """
        SELECT a.id AS subject, 'balance ' || a.balance || ' but last balance_after ' || l.balance_after AS detail
        FROM ledger_accounts a
        JOIN LATERAL (SELECT balance_after FROM postings p WHERE p.account_id = a.id
                      ORDER BY created_at DESC, id DESC LIMIT 1) l ON true
        WHERE l.balance_after <> a.balance""",
    "orphan_posting": """
        SELECT p.id::text AS subject, 'entry ' || p.entry_id || ' / account ' || p.account_id AS detail
        FROM postings p
        LEFT JOIN journal_entries e ON e.id = p.entry_id
        LEFT JOIN ledger_accounts a ON a.id = p.account_id
        WHERE e.id IS NULL OR a.id IS NULL""",
}


@dataclass(frozen=True)
class Violation:
    check: str
    subject: str
    detail: str


def check_ledger(session: Session, limit_per_check: int = 100) -> list[Violation]:
    violations: list[Violation] = []
    for name, query in CHECKS.items():
        rows = session.execute(text(f"{query} LIMIT :limit"), {"limit": limit_per_check}).all()
        violations.extend(Violation(name, row.subject, row.detail) for row in rows)
    return violations
