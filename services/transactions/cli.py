"""Operator commands for the ledger.

    DATABASE_URL=... python -m services.transactions.cli ledger-check
exits 0 when the ledger is whole and 1 (listing every violation) when it is not.

    DATABASE_URL=... INTERNAL_TOKEN_SECRET=... python -m services.transactions.cli relay-outbox
delivers due outbox rows once (PREFERENCES_URL) and exits 0 when none is left waiting.

    DATABASE_URL=... python -m services.transactions.cli expire-holds
marks every active hold past its expires_at expired (reads already treat them so) and
prints how many.

    DATABASE_URL=<owner url> python -m services.transactions.cli create-partitions [--date YYYY-MM-DD]
creates the monthly postings partitions from this UTC month (or --date's) to three months
ahead, moving any postings of those months out of postings_default (domain/ledger/partitions.py).

    DATABASE_URL=... INTERNAL_TOKEN_SECRET=... python -m services.transactions.cli run-due [--date YYYY-MM-DD]
executes every scheduled-transfer run (and bill) due on or before the day (UTC today by
default) once, however often or concurrently it runs (domain/workflows/runner.py).

    DATABASE_URL=... ACCOUNTS_URL=... INTERNAL_TOKEN_SECRET=... python -m services.transactions.cli data-quality
runs the data-quality report (domain/ledger/quality.py), records it for the admin endpoint, prints
each check and exits 1 when one fails.

    DATABASE_URL=... python -m services.transactions.cli purge
deletes, in batches, idempotency keys older than IDEMPOTENCY_RETENTION_HOURS (168, at least
24) and delivered outbox rows and processed events older than OUTBOX_RETENTION_DAYS (30).
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime, timezone

from sqlalchemy.orm import Session

from services.common.outbox_cli import relay_outbox
from services.common.retention import idempotency_target, outbox_targets, purge_command
from services.common.sql import make_engine

from .events import EVENT_ROUTES
from .domain.ledger.integrity import run_check
from .models import idempotency_keys, outbox_events, processed_events


def ledger_check(url: str) -> int:
    engine = make_engine(url, "transactions-cli", pool_size=1, statement_timeout_ms=0)
    with Session(engine) as session, session.begin():
        run = run_check(session, limit_per_check=1000)
    engine.dispose()
    violations = run.violations
    for v in violations:
        print(f"{v.check}\t{v.subject}\t{v.detail}")
    verdict = "ledger ok" if not violations else f"{len(violations)} violation(s)"
    print(f"{verdict} in {run.duration_ms} ms (recorded for GET /api/v1/admin/ledger-check)", file=sys.stderr)
    return 1 if violations else 0


def purge_targets(settings: dict) -> list:
    return [idempotency_target(idempotency_keys, settings["IDEMPOTENCY_RETENTION_HOURS"]),
            *outbox_targets(outbox_events, processed_events, settings["OUTBOX_RETENTION_DAYS"])]


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


def _day(value: str) -> date:
    """--date: a real calendar day, refused (exit 2) before anything runs."""
    try:
        if len(value) != 10:  # fromisoformat also takes 20261202 and week dates
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day as YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.transactions.cli")
    parser.add_argument("command", choices=("ledger-check", "relay-outbox", "purge", "expire-holds",
                                            *DB_COMMANDS))
    parser.add_argument("--date", default=None, type=_day, help="YYYY-MM-DD (commands that act for a day)")
    args = parser.parse_args(argv)
    command = args.command
    if command == "relay-outbox":
        return relay_outbox("transactions", outbox_events, EVENT_ROUTES,
                            {"preferences": "http://127.0.0.1:8083"})
    if command == "purge":
        return purge_command("transactions", purge_targets)
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    if command == "expire-holds":
        return expire_holds(url)
    if command in DB_COMMANDS:
        return DB_COMMANDS[command](url, args)
    return ledger_check(url)


def expire_holds(url: str) -> int:
    from .domain.ledger.holds import expire_due_holds
    engine = make_engine(url, "transactions-cli", pool_size=1)
    expired = expire_due_holds(lambda: Session(engine))
    engine.dispose()
    print(f"{expired} hold(s) expired", file=sys.stderr)
    return 0


def create_partitions_command(url: str, args) -> int:
    from .domain.ledger.partitions import create_partitions
    today = args.date or utc_today()
    engine = make_engine(url, "transactions-cli", pool_size=1, statement_timeout_ms=0)
    with Session(engine) as session, session.begin():
        run = create_partitions(session, today)
    engine.dispose()
    moved = f", {run.moved_from_default} posting(s) moved out of postings_default" if run.moved_from_default else ""
    print(f"{len(run.created)} partition(s) created{moved}: {' '.join(run.created) or '-'}", file=sys.stderr)
    return 0


def run_due_command(url: str, args) -> int:
    """The day's scheduled transfers (and the rest of domain/workflows/runner.py's DUE_WORK), once each.
    Exits 0 when the run went through, failed transfers included (they are recorded and
    notified); 1 when a schedule's run broke (logged, left due for the next run)."""
    from .app import create_app
    from .domain.workflows.runner import run_due
    day = args.date or utc_today()
    # The service's own app (its outbox, settings and checks), without its relay thread: the
    # events this run writes are delivered by the service's relay or the relay CronJob.
    app = create_app({"DATABASE_URL": url, "OUTBOX_RELAY": False, "ACCESS_LOG": False})
    factory = app.extensions["sql_sessions"]
    report = run_due(app, factory, day)
    print(f"run-due {day.isoformat()}: " + ", ".join(f"{k}={v}" for k, v in sorted(report.items())),
          file=sys.stderr)
    return 1 if report.get("schedules_errored") or report.get("bills_errored") else 0


def data_quality_command(url: str, _args) -> int:
    """The data-quality report, recorded for GET /api/v1/admin/data-quality; prints each
    check and exits 1 when one fails."""
    from .accounts_service import account_pages, accounts_client
    from .domain.ledger.quality import run_report
    client = accounts_client(os.environ.get("ACCOUNTS_URL", "http://127.0.0.1:8081"),
                             os.environ.get("INTERNAL_TOKEN_SECRET", ""))
    engine = make_engine(url, "transactions-cli", pool_size=1, statement_timeout_ms=0)
    with Session(engine) as session, session.begin():
        report = run_report(session, account_pages(client) if client else None)
    engine.dispose()
    for check in report.checks:
        print(f"{check.dimension}\t{check.name}\t{check.status}\t{check.count}\t{check.detail}")
    print(f"data quality {'ok' if report.ok else 'FAILING'} in {report.duration_ms} ms", file=sys.stderr)
    return 0 if report.ok else 1


# Further commands that need only DATABASE_URL: name -> function(url, args) -> exit code.
# One a line, each feature adding its own.
DB_COMMANDS: dict = {
    "create-partitions": lambda url, args: create_partitions_command(url, args),
    "run-due": lambda url, args: run_due_command(url, args),
    "data-quality": lambda url, args: data_quality_command(url, args),
}


if __name__ == "__main__":
    sys.exit(main())
