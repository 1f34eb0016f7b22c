"""The runner (`run-due`) on 10,000 due scheduled transfers.

    .venv/bin/python -m bench.runner [--schedules 10000] [--customers 2000]

Seeds a throw-away ledger (the `make seed` seed: customers, accounts, history), adds
`--schedules` daily standing orders due today between funded accounts of verified customers
(written as rows, as if created over time), then times `python -m services.transactions.cli
run-due` as the CronJob runs it: one runner, then a second pass (nothing left to do), then the
next day with two runners at once; then pgbench (TPC-B-like) on the same server with one and
two clients, for the runner's rate as a ratio. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from devstack.seed import seed
from devstack.stack import ROOT
from services.common.sql import sqlalchemy_url

from .harness import BENCH_SECRET, bench_stack
from .transfers import pgbench


def run_due(url: str, day, runners: int = 1) -> tuple[float, list[str]]:
    environment = {"PYTHONPATH": str(ROOT), "DATABASE_URL": url, "INTERNAL_TOKEN_SECRET": BENCH_SECRET,
                   "LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"}
    began = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-m", "services.transactions.cli", "run-due", "--date",
                                   day.isoformat()], env=environment, stderr=subprocess.PIPE, text=True)
                 for _ in range(runners)]
    reports = [p.communicate()[1].strip().splitlines()[-1] for p in processes]
    return time.perf_counter() - began, reports


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()
    today = datetime.now(timezone.utc).date()
    with bench_stack(("transactions",), workers=1) as (stores, databases, _apps), \
            tempfile.TemporaryDirectory() as scratch:
        seed(databases["accounts"].owner_url, databases["transactions"].owner_url, args.customers,
             args.customers * 5, Path(scratch) / "manifest.csv")
        owner = create_engine(sqlalchemy_url(databases["transactions"].owner_url))
        with owner.begin() as connection:
            accounts = connection.execute(text("""
                SELECT a.id, a.customer_id FROM ledger_accounts a
                  JOIN ledger_customers c ON c.customer_id = a.customer_id AND c.kyc_status = 'verified'
                 WHERE a.kind = 'customer' AND a.currency = 'EUR' AND a.status = 'active' AND a.balance > 100000
                 ORDER BY a.id""")).all()
            rows = [{"id": uuid.uuid4(), "customer": accounts[n % len(accounts)].customer_id,
                     "source": accounts[n % len(accounts)].id, "target": accounts[(n + 1) % len(accounts)].id,
                     "today": today} for n in range(args.schedules)]
            connection.execute(text("""
                INSERT INTO scheduled_transfers (id, customer_id, from_account_id, to_account_id, amount, currency,
                                                 description, frequency, start_date, next_run_date)
                VALUES (:id, :customer, :source, :target, 1, 'EUR', 'bench', 'daily', :today, :today)"""), rows)
        owner.dispose()
        print(f"{args.schedules} daily schedules due today over {len(accounts)} funded EUR accounts")
        url = databases["transactions"].app_url
        seconds, reports = run_due(url, today)
        one = args.schedules / seconds
        print(f"one runner: {seconds:.1f}s = {one:,.0f} runs/s   {reports[0]}")
        seconds, reports = run_due(url, today)
        print(f"again, nothing due: {seconds:.2f}s   {reports[0]}")
        seconds, reports = run_due(url, today + timedelta(days=1), runners=2)
        two = args.schedules / seconds
        print(f"next day, two runners at once: {seconds:.1f}s = {two:,.0f} runs/s")
        for report in reports:
            print(f"  {report}")
        # The same server, the same run: what it commits per second for a TPC-B-like client,
        # so the runner's rate reads as a ratio that holds from one machine day to the next.
        for clients, rate in ((1, one), (2, two)):
            figures = pgbench(stores.pg_admin_url, clients, args.pgbench_seconds)
            tps = float(next(line for line in figures.splitlines() if line.strip().startswith("tps")).split()[2])
            print(f"pgbench, {clients} client(s): {tps:,.0f} tps; runner/pgbench = {rate / tps:.3f}\n    {figures}")


if __name__ == "__main__":
    main()
