"""Balance history of a busy account: a year of daily closing balances at the service.

    .venv/bin/python -m bench.balance_history [--lines 20000] [--requests 100]

Writes `--lines` deposits to one account spread over the past 365 days (straight into the
ledger's tables, chained as the ledger writes them, in their months' partitions), then times
GET /api/v1/accounts/{id}/balance-history for the whole year and for one month. Prints
figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common.sql import make_engine
from services.transactions.domain.ledger.partitions import create_months

from .harness import bench_stack, fmt, percentiles
from .statements import headers

LOAD = text("""
    WITH lines AS (
        SELECT n, gen_random_uuid() AS entry,
               now() - interval '365 days' + (n * (interval '365 days' / :lines)) AS at
          FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n),
    entries AS (
        INSERT INTO journal_entries (id, kind, amount, currency, from_account_id, to_account_id, created_at)
        SELECT entry, 'deposit', 100, 'EUR', 'internal:settlement:EUR', 'bench-busy', at FROM lines)
    INSERT INTO postings (entry_id, account_id, amount, currency, balance_after, created_at)
    SELECT entry, 'internal:settlement:EUR', -100, 'EUR', -100 * n, at FROM lines
    UNION ALL
    SELECT entry, 'bench-busy', 100, 'EUR', 100 * n, at FROM lines
""")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with bench_stack(("transactions",), workers=2) as (_stores, databases, apps):
        engine = make_engine(databases["transactions"].owner_url, "bench", pool_size=1, statement_timeout_ms=0)
        began = time.perf_counter()
        with Session(engine) as session, session.begin():
            create_months(session, (datetime.now(timezone.utc) - timedelta(days=366)).date(),
                          datetime.now(timezone.utc).date())
            session.execute(text("INSERT INTO ledger_accounts (id, customer_id, kind, currency, may_go_negative) "
                                 "VALUES ('internal:settlement:EUR', NULL, 'settlement', 'EUR', true), "
                                 "('bench-busy', 'cust-busy', 'customer', 'EUR', false)"))
            # In statements of 2,000 lines: the chain guard's lookup is planned per statement,
            # and a plan made on a month still empty would scan it for every row that follows.
            for first in range(1, args.lines + 1, 2000):
                session.execute(LOAD, {"lines": args.lines, "first": first,
                                       "last": min(first + 1999, args.lines)})
            session.execute(text("UPDATE ledger_accounts SET balance = 100 * :n WHERE id = 'bench-busy'"),
                            {"n": args.lines})
            session.execute(text("UPDATE ledger_accounts SET balance = -100 * :n "
                                 "WHERE id = 'internal:settlement:EUR'"), {"n": args.lines})
        with engine.begin() as connection:
            connection.execute(text("ANALYZE postings"))
        engine.dispose()
        print(f"{args.lines} postings over 365 days on one account in {time.perf_counter() - began:.1f}s")
        base = apps.url("transactions") + "/api/v1/accounts/bench-busy/balance-history"
        today = datetime.now(timezone.utc).date()
        session = requests.Session()
        for name, first in (("a year, 366 days", today - timedelta(days=365)),
                            ("a month, 31 days", today - timedelta(days=30))):
            customer = headers(subject="cust-busy")
            query = {"from": first.isoformat(), "to": today.isoformat()}
            for _ in range(10):
                session.get(base, params=query, headers=customer)
            samples = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                response = session.get(base, params=query, headers=customer)
                samples.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.text
            print(f"  {name:<18} {fmt(percentiles(samples))}   ({len(response.json()['items'])} points)")


if __name__ == "__main__":
    main()
