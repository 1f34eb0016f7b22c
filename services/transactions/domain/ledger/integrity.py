"""The ledger integrity check: what must hold whatever happened.

- every entry balances per currency;
- every entry's header (from, to, amount, currency, fee, to_amount, to_currency) matches its
  postings: the source gives the amount plus the fee, the target receives the amount (or
  the converted to_amount), so it has two postings at least; a fee is in fee income;
- every reversal mirrors its original: per account and currency, the two sum to zero;
- every account's balance equals the sum of its postings and its last running balance;
- each currency sums to zero over all accounts (the bank's own accounts included);
- the manual journal's posted entries balance per currency, and none was posted into a
  fiscal period after it closed;
- the FX clearing account of each currency holds what the conversions' headers say it
  should (what came in on the source side less what went out converted, reversed ones
  cancelling);
- every external transfer has one state that its entries bear out: pending (neither
  settled nor reversed), posted (one settlement entry of its amount) or returned (its
  reversal), and no settlement entry is of no external transfer;
- no hold is captured beyond its amount, and a captured hold's entry posts what it says.
Postings and entries that point at nothing are impossible by foreign key, so they are not
searched for.

Each query reads the postings once at most (hash aggregates, with the work memory to keep
them in memory), so the whole check stays a few seconds on a million entries; `run_check`
also records the outcome, so the admin endpoint can show the last run and its age without
running it (`python -m services.transactions.cli ledger-check` runs it as a job).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.orm import Session

CHECKS = {
    "unbalanced_entry": """
        SELECT entry_id::text AS subject, currency || ' sums to ' || sum(amount) AS detail
        FROM postings GROUP BY entry_id, currency HAVING sum(amount) <> 0""",
    # The source gave the amount plus the fee in the entry's currency and the target received
    # to_amount in to_currency (migration 0008; without a conversion: the amount in the
    # entry's currency), each in a posting of its own (from <> to by CHECK, so these are two
    # postings at least). A plain two-posting entry has fee 0 and no to_*, so this is the
    # original check for it, as strict. Two anti-joins, hashed: a grouping of every entry
    # with its postings cost four times more.
    "entry_header_differs": """
        SELECT e.id::text AS subject,
               'no posting of ' || e.currency || ' ' || e.amount || ' (fee ' || e.fee || ') from '
               || e.from_account_id || ' to ' || e.to_account_id || ' of '
               || coalesce(e.to_currency, e.currency) || ' ' || coalesce(e.to_amount, e.amount) AS detail
        FROM journal_entries e
        WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id
                          AND p.account_id = e.from_account_id AND p.amount = -(e.amount + e.fee)
                          AND p.currency = e.currency)
           OR NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id
                          AND p.account_id = e.to_account_id
                          AND p.amount = coalesce(e.to_amount, e.amount)
                          AND p.currency = coalesce(e.to_currency, e.currency))""",
    # An entry's fee went to one of the bank's fee income accounts in the entry's currency.
    "fee_not_in_fee_income": """
        SELECT e.id::text AS subject, 'fee ' || e.currency || ' ' || e.fee || ' not posted to fee income' AS detail
        FROM journal_entries e
        WHERE e.fee > 0
          AND NOT EXISTS (SELECT 1 FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
                          WHERE p.entry_id = e.id AND a.kind = 'fees' AND p.amount = e.fee
                          AND p.currency = e.currency)""",
    "reversal_differs_from_original": """
        SELECT r.id::text AS subject,
               'account ' || x.account_id || ' ' || x.currency || ' off by ' || sum(x.amount) AS detail
        FROM journal_entries r
        JOIN LATERAL (SELECT account_id, currency, amount FROM postings WHERE entry_id = r.id
                      UNION ALL
                      SELECT account_id, currency, amount FROM postings
                      WHERE entry_id = r.reverses_entry_id) x ON true
        WHERE r.reverses_entry_id IS NOT NULL
        GROUP BY r.id, x.account_id, x.currency HAVING sum(x.amount) <> 0""",
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
    # The bank's manual journal (books/journal.py): posted entries balance per currency and
    # none was posted into a period after it closed.
    "manual_entry_unbalanced": """
        SELECT l.entry_id::text AS subject,
               l.currency || ' debits ' || sum(l.debit) || ' credits ' || sum(l.credit) AS detail
        FROM manual_journal_lines l JOIN manual_journal_entries e ON e.id = l.entry_id
        WHERE e.status = 'posted'
        GROUP BY l.entry_id, l.currency HAVING sum(l.debit) <> sum(l.credit)""",
    "posted_in_closed_period": """
        SELECT e.id::text AS subject, 'posted ' || e.posted_at || ' into ' || p.name
               || ', closed ' || p.closed_at AS detail
        FROM manual_journal_entries e
        JOIN fiscal_periods p ON e.effective_date BETWEEN p.start_date AND p.end_date
        WHERE e.status = 'posted' AND p.status = 'closed' AND e.posted_at > p.closed_at""",
    # Conversions (migration 0008): the source side puts `amount` of `currency` into that
    # currency's FX clearing, the target side takes `to_amount` of `to_currency` out of its
    # own; a reversed conversion is mirrored by its reversal, so it leaves nothing behind.
    "fx_clearing_differs_from_conversions": """
        WITH conversions AS (
            SELECT e.currency, e.amount, e.to_currency, e.to_amount FROM journal_entries e
            WHERE e.to_currency IS NOT NULL AND e.to_currency <> e.currency AND e.kind <> 'reversal'
              AND NOT EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses_entry_id = e.id)),
        expected AS (
            SELECT currency, sum(amount) AS total FROM (
                SELECT currency, amount FROM conversions
                UNION ALL SELECT to_currency, -to_amount FROM conversions) legs
            GROUP BY currency),
        held AS (SELECT currency, sum(balance) AS total FROM ledger_accounts
                 WHERE kind = 'fx_clearing' GROUP BY currency)
        SELECT coalesce(h.currency, x.currency) AS subject,
               'FX clearing holds ' || coalesce(h.total, 0) || ' but the conversions sum to '
               || coalesce(x.total, 0) AS detail
        FROM held h FULL JOIN expected x ON x.currency = h.currency
        WHERE coalesce(h.total, 0) <> coalesce(x.total, 0)""",
    # External transfers (migration 0010, ledger/external.py).
    "external_transfer_state_differs": """
        SELECT e.id::text AS subject,
               'external transfer ' || coalesce(x.status, 'without a state')
               || CASE WHEN s.id IS NOT NULL THEN ', settled by ' || s.id ELSE '' END
               || CASE WHEN r.id IS NOT NULL THEN ', reversed by ' || r.id ELSE '' END AS detail
        FROM journal_entries e
        LEFT JOIN external_transfers x ON x.entry_id = e.id
        LEFT JOIN journal_entries s ON s.id = x.settlement_entry_id
        LEFT JOIN journal_entries r ON r.reverses_entry_id = e.id
        WHERE e.kind = 'external_transfer' AND (
              x.entry_id IS NULL
           OR (x.status = 'pending' AND (s.id IS NOT NULL OR r.id IS NOT NULL))
           OR (x.status = 'posted' AND (s.id IS NULL OR r.id IS NOT NULL OR s.kind <> 'external_settlement'
                                        OR s.amount <> e.amount OR s.currency <> e.currency
                                        OR s.from_account_id <> e.to_account_id))
           OR (x.status = 'returned' AND (r.id IS NULL OR r.id <> x.return_entry_id)))
        UNION ALL
        SELECT s.id::text, 'a settlement of no external transfer'
        FROM journal_entries s
        WHERE s.kind = 'external_settlement'
          AND NOT EXISTS (SELECT 1 FROM external_transfers x WHERE x.settlement_entry_id = s.id)""",
    "hold_captured_beyond_amount": """
        SELECT h.id::text AS subject,
               h.status || ': captured ' || h.captured_amount || ' of ' || h.amount
               || coalesce(', its entry posts ' || e.amount, '') AS detail
        FROM holds h LEFT JOIN journal_entries e ON e.id = h.capture_entry_id
        WHERE h.captured_amount > h.amount
           OR (h.status = 'captured' AND (e.id IS NULL OR e.amount <> h.captured_amount))
           OR (h.status <> 'captured' AND (h.capture_entry_id IS NOT NULL OR h.captured_amount <> 0))""",
    "currency_does_not_sum_to_zero": """
        SELECT currency AS subject, 'all accounts sum to ' || sum(balance) AS detail
        FROM ledger_accounts GROUP BY currency HAVING sum(balance) <> 0""",
}


@dataclass(frozen=True)
class Violation:
    check: str
    subject: str
    detail: str


@dataclass(frozen=True)
class CheckRun:
    ok: bool
    violations: list[Violation]
    checked_at: datetime
    duration_ms: int

    def as_json(self, now: datetime | None = None) -> dict:
        now = now or datetime.now(timezone.utc)
        return {"ok": self.ok,
                "violations": [{"check": v.check, "subject": v.subject, "detail": v.detail}
                               for v in self.violations],
                "checked_at": self.checked_at.isoformat(),
                "age_seconds": max(0, int((now - self.checked_at).total_seconds())),
                "duration_ms": self.duration_ms}


def check_ledger(session: Session, limit_per_check: int = 100) -> list[Violation]:
    # Hash aggregates over every posting: give them memory rather than spill to disk.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    violations: list[Violation] = []
    for name, query in CHECKS.items():
        rows = session.execute(text(f"{query} LIMIT :limit"), {"limit": limit_per_check}).all()
        violations.extend(Violation(name, row.subject, row.detail) for row in rows)
    return violations


def run_check(session: Session, limit_per_check: int = 100) -> CheckRun:
    """Run the check and record the outcome (in the caller's transaction)."""
    began = time.perf_counter()
    violations = check_ledger(session, limit_per_check)
    duration_ms = int((time.perf_counter() - began) * 1000)
    run = CheckRun(not violations, violations, datetime.now(timezone.utc), duration_ms)
    session.execute(text(
        "INSERT INTO ledger_check_runs (checked_at, ok, violations, duration_ms) "
        "VALUES (:at, :ok, CAST(:violations AS jsonb), :ms)"),
        {"at": run.checked_at, "ok": run.ok, "ms": duration_ms,
         "violations": _violations_json(violations)})
    return run


def last_run(session: Session) -> CheckRun | None:
    row = session.execute(text(
        "SELECT checked_at, ok, violations, duration_ms FROM ledger_check_runs "
        "ORDER BY checked_at DESC LIMIT 1")).first()
    if row is None:
        return None
    return CheckRun(row.ok, [Violation(**v) for v in row.violations], row.checked_at, row.duration_ms)


def _violations_json(violations: list[Violation]) -> str:
    return json.dumps([{"check": v.check, "subject": v.subject, "detail": v.detail} for v in violations])
