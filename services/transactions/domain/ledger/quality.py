"""The data-quality report (API.md: `GET /api/v1/admin/data-quality`, the `data-quality`
command): one check per line, each in a dimension, `pass` or `fail`, with a count.

- accuracy: every balance equals its postings and its last running balance (the ledger
  check's queries, ledger/integrity.py, counted rather than listed);
- consistency: entries balance per currency, headers match postings, each currency sums to
  zero, reversals mirror, fees and FX clearing and external states bear out, and the
  ledger's account status is the accounts service's;
- completeness: every open account of the accounts service has its ledger account and
  every ledger account of a customer is known there (compared over the accounts service's
  internal endpoint, page by page: `accounts` is an iterable of pages);
- validity: no constraint left unvalidated, no amount beyond what the API can carry, no
  account spending past its limit;
- uniqueness: no event twice per destination, no transfer under two Idempotency-Keys, the
  duplicate_transfer rule's hits of the last day (informational: they posted, flagged);
- timeliness: the outbox's oldest undelivered event and its dead letters, the age of the
  last ledger integrity check.
A run reads the whole ledger (seconds at the bank's scale), so it runs as a job and the
endpoint shows the last run with its age (`?run=now` runs one first).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from .integrity import CHECKS as LEDGER_CHECKS

DIMENSIONS = ("accuracy", "completeness", "consistency", "validity", "uniqueness", "timeliness")
MAX_MINOR = 10 ** 14            # 12 integer digits and 2 decimals (the API's amount rule)
OUTBOX_LAG_LIMIT_SECONDS = 300  # an event undelivered for five minutes is late
LEDGER_CHECK_MAX_AGE_SECONDS = 26 * 3600

_ACCURACY = ("balance_differs_from_postings", "running_balance_differs")

_COUNTED = {
    # validity
    "constraint_not_validated": ("validity", """
        SELECT conrelid::regclass::text || '.' || conname AS subject FROM pg_constraint
         WHERE NOT convalidated AND connamespace = 'public'::regnamespace"""),
    "amount_beyond_bounds": ("validity", f"""
        SELECT id::text AS subject FROM postings WHERE amount > {MAX_MINOR} OR amount < -{MAX_MINOR}
        UNION ALL SELECT id::text FROM journal_entries WHERE amount <= 0 OR amount > {MAX_MINOR}"""),
    "spending_past_limit": ("validity", """
        SELECT id AS subject FROM ledger_accounts
         WHERE kind = 'customer' AND NOT may_go_negative AND balance - held < -overdraft_limit"""),
    # uniqueness
    "duplicate_event_ids": ("uniqueness", """
        SELECT event_id::text AS subject FROM outbox_events GROUP BY event_id, destination HAVING count(*) > 1"""),
    # One transfer answered under two keys: a client's retry that posted twice would look so.
    "transfer_under_two_keys": ("uniqueness", """
        SELECT resource_id::text AS subject FROM idempotency_keys WHERE resource_id IS NOT NULL
         GROUP BY scope, resource_id HAVING count(*) > 1"""),
    "duplicate_processed_events": ("uniqueness", """
        SELECT event_id::text AS subject FROM processed_events GROUP BY event_id HAVING count(*) > 1"""),
}


@dataclass(frozen=True)
class Check:
    name: str
    dimension: str
    status: str
    count: int
    detail: str

    def as_json(self) -> dict:
        return {"name": self.name, "dimension": self.dimension, "status": self.status, "count": self.count,
                "detail": self.detail}


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    checks: list[Check]
    duration_ms: int

    @property
    def ok(self) -> bool:
        return all(check.status == "pass" for check in self.checks)

    def as_json(self, now: datetime | None = None) -> dict:
        now = now or datetime.now(timezone.utc)
        return {"generated_at": self.generated_at.isoformat(), "ok": self.ok,
                "age_seconds": max(0, int((now - self.generated_at).total_seconds())),
                "duration_ms": self.duration_ms, "checks": [check.as_json() for check in self.checks]}


def _counted(session: Session, name: str, dimension: str, query: str, what: str) -> Check:
    # One pass: the count over every finding, carried on the first three (the examples).
    rows = session.execute(text(f"SELECT found.*, count(*) OVER () AS total FROM ({query}) AS found LIMIT 3")).all()
    count = rows[0].total if rows else 0
    sample = [row[0] for row in rows]
    detail = f"{count} {what}" + (f", e.g. {', '.join(map(str, sample))}" if sample else "")
    return Check(name, dimension, "fail" if count else "pass", count, detail)


def ledger_checks(session: Session) -> list[Check]:
    checks = []
    for name, query in LEDGER_CHECKS.items():
        dimension = "accuracy" if name in _ACCURACY else "consistency"
        checks.append(_counted(session, name, dimension, query, "found"))
    return checks


def store_checks(session: Session) -> list[Check]:
    return [_counted(session, name, dimension, query, "found") for name, (dimension, query) in _COUNTED.items()]


def completeness(session: Session, accounts: Iterable[list[dict]] | None) -> list[Check]:
    """The ledger's customer accounts against the accounts service's, by id and status."""
    if accounts is None:
        return [Check("accounts_compared", "completeness", "fail", 0, "the accounts service is not configured")]
    theirs: dict[str, str] = {}
    try:
        for page in accounts:
            theirs.update((str(item["id"]), item["status"]) for item in page)
    except Exception as error:  # noqa: BLE001 - an unreachable service is a finding, not a crash
        return [Check("accounts_compared", "completeness", "fail", 0, f"the accounts service did not answer: {error}")]
    ours = dict(session.execute(text("SELECT id, status FROM ledger_accounts WHERE kind = 'customer'")).all())
    missing = sorted(id_ for id_, status in theirs.items() if status != "closed" and id_ not in ours)
    unknown = sorted(id_ for id_ in ours if id_ not in theirs)
    differs = sorted(id_ for id_, status in theirs.items() if id_ in ours and ours[id_] != status)
    return [_listed("ledger_account_missing", "completeness", missing, "open accounts without a ledger account"),
            _listed("account_unknown_to_accounts_service", "completeness", unknown,
                    "ledger accounts the accounts service does not have"),
            _listed("account_status_differs", "consistency", differs, "accounts whose status the ledger has otherwise")]


def _listed(name: str, dimension: str, found: list[str], what: str) -> Check:
    detail = f"{len(found)} {what}" + (f", e.g. {', '.join(found[:3])}" if found else "")
    return Check(name, dimension, "fail" if found else "pass", len(found), detail)


def timeliness(session: Session) -> list[Check]:
    row = session.execute(text("""
        SELECT count(*) FILTER (WHERE delivered_at IS NULL AND dead_lettered_at IS NULL) AS waiting,
               extract(epoch FROM now() - min(created_at) FILTER (
                   WHERE delivered_at IS NULL AND dead_lettered_at IS NULL))::bigint AS oldest,
               count(*) FILTER (WHERE dead_lettered_at IS NOT NULL) AS dead
          FROM outbox_events""")).one()
    oldest = row.oldest or 0
    last_check = session.execute(text(
        "SELECT extract(epoch FROM now() - max(checked_at))::bigint FROM ledger_check_runs")).scalar_one()
    return [
        Check("outbox_lag", "timeliness", "fail" if oldest > OUTBOX_LAG_LIMIT_SECONDS else "pass", row.waiting,
              f"{row.waiting} events waiting, the oldest for {oldest} s (late after {OUTBOX_LAG_LIMIT_SECONDS} s)"),
        Check("outbox_dead_letters", "timeliness", "fail" if row.dead else "pass", row.dead,
              f"{row.dead} dead-lettered events (GET /api/v1/admin/outbox/dead-letters)"),
        Check("ledger_check_age", "timeliness",
              "fail" if last_check is None or last_check > LEDGER_CHECK_MAX_AGE_SECONDS else "pass", 0,
              "the ledger integrity check never ran" if last_check is None
              else f"the last ledger integrity check ran {last_check} s ago"),
    ]


def duplicate_rule_hits(session: Session) -> Check:
    hits = session.execute(text(
        "SELECT count(*) FROM risk_decisions WHERE 'duplicate_transfer' = ANY(rules) "
        "AND created_at > now() - interval '1 day'")).scalar_one()
    return Check("duplicate_transfer_rule_hits", "uniqueness", "pass", hits,
                 f"{hits} transfers in the last day hit the duplicate_transfer rule (flagged to their customers)")


def run_report(session: Session, accounts: Iterable[list[dict]] | None) -> Report:
    """Compute every check and record the run (in the caller's transaction)."""
    began = time.perf_counter()
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    checks = [*ledger_checks(session), *completeness(session, accounts), *store_checks(session),
              duplicate_rule_hits(session), *timeliness(session)]
    checks.sort(key=lambda check: (DIMENSIONS.index(check.dimension), check.name))
    report = Report(datetime.now(timezone.utc), checks, int((time.perf_counter() - began) * 1000))
    session.execute(text("INSERT INTO data_quality_runs (generated_at, checks, duration_ms) "
                         "VALUES (:at, CAST(:checks AS jsonb), :ms)"),
                    {"at": report.generated_at, "ms": report.duration_ms,
                     "checks": json.dumps([check.as_json() for check in checks])})
    return report


def last_report(session: Session) -> Report | None:
    row = session.execute(text("SELECT generated_at, checks, duration_ms FROM data_quality_runs "
                               "ORDER BY generated_at DESC LIMIT 1")).first()
    if row is None:
        return None
    return Report(row.generated_at, [Check(**check) for check in row.checks], row.duration_ms)
