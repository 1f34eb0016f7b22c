"""The ledger integrity check on the bank's scale: 25,000 customers, 1,000,000 entries.

    .venv/bin/python -m bench.ledger_check [--customers 25000] [--transactions 1000000]

Seeds a throw-away suite (the same seed as `make seed`), then times each check's query
alone, the whole check as the CLI job runs it, and GET /api/v1/admin/ledger-check with and
without `?run=now` at the transactions service. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from devstack.seed import seed
from services.common.service_auth import mint_internal_token
from services.common.sql import sqlalchemy_url
from services.transactions.domain.ledger.integrity import CHECKS

from .harness import BENCH_SECRET, bench_stack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    args = parser.parse_args()
    with bench_stack(("transactions",), workers=1) as (_stores, databases, apps), \
            tempfile.TemporaryDirectory() as scratch:
        began = time.perf_counter()
        seed(databases["accounts"].owner_url, databases["transactions"].owner_url,
             args.customers, args.transactions, Path(scratch) / "manifest.csv")
        print(f"seeded in {time.perf_counter() - began:.1f}s")
        engine = create_engine(sqlalchemy_url(databases["transactions"].owner_url))
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            entries = connection.execute(text("SELECT count(*) FROM journal_entries")).scalar()
            postings = connection.execute(text("SELECT count(*) FROM postings")).scalar()
            print(f"ledger: {entries} entries, {postings} postings")
            connection.execute(text("SET work_mem = '256MB'"))
            for name, query in CHECKS.items():
                start = time.perf_counter()
                found = connection.execute(text(f"{query} LIMIT 100")).all()
                print(f"  {name:34s} {1000 * (time.perf_counter() - start):8.0f} ms  ({len(found)} found)")
        engine.dispose()

        env = {**os.environ, "DATABASE_URL": databases["transactions"].app_url}
        start = time.perf_counter()
        job = subprocess.run([sys.executable, "-m", "services.transactions.cli", "ledger-check"],
                             env=env, capture_output=True, text=True)
        print(f"CLI job: exit {job.returncode} in {time.perf_counter() - start:.1f}s: {job.stderr.strip()}")

        token = mint_internal_token(BENCH_SECRET, "transactions", "gateway", subject="ops", roles=("admin",))
        auth = {"Authorization": f"Bearer {token}"}
        url = apps.url("transactions") + "/api/v1/admin/ledger-check"
        for label, query in (("last run", ""), ("run now", "?run=now")):
            start = time.perf_counter()
            response = requests.get(url + query, headers=auth, timeout=120)
            body = response.json()
            print(f"GET ledger-check ({label}): HTTP {response.status_code} in "
                  f"{1000 * (time.perf_counter() - start):.0f} ms; ok={body.get('ok')} "
                  f"age={body.get('age_seconds')}s duration_ms={body.get('duration_ms')} code={body.get('code')}")


if __name__ == "__main__":
    main()
