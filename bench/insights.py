"""Budgets and spending insights for a customer with 10,000 lines in the month, measured at
the transactions service.

    .venv/bin/python -m bench.insights [--lines 10000] [--requests 300]

Loads the lines through the ledger's batch path (so each one is categorised and added to
the spending aggregates as any posting is): nine in ten from an EUR account, one in ten from
a USD account (converted at the day's EUR/USD rate), over the ten categories; three budgets.
Then times GET /api/v1/insights/spending and GET /api/v1/budgets over HTTP against gunicorn.
Prints figures; asserts nothing about them.
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
from services.transactions.domain.insights.categories import SLUGS

from .harness import bench_stack, fmt, percentiles, time_gets
from .statements import headers


SPREAD = """
    WITH today AS (DELETE FROM spending_daily WHERE customer_id = 'cust-main' RETURNING *),
         days AS (SELECT CAST(:first AS date) + n AS day, n FROM generate_series(0, 30) AS n)
    INSERT INTO spending_daily (customer_id, day, category, account_id, currency, amount, lines)
    SELECT t.customer_id, d.day, t.category, t.account_id, t.currency,
           t.amount / 31 + CASE WHEN d.n = 0 THEN t.amount % 31 ELSE 0 END,
           t.lines / 31 + CASE WHEN d.n = 0 THEN t.lines % 31 ELSE 0 END
      FROM today t CROSS JOIN days d
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    with bench_stack(("transactions",), workers=2) as (_stores, dbs, apps):
        base = apps.url("transactions")
        session = requests.Session()
        accounts = {("bench-eur", "cust-main", "EUR"), ("bench-usd", "cust-main", "USD"),
                    ("payee-eur", "cust-other", "EUR"), ("payee-usd", "cust-other", "USD")}
        for account_id, customer, currency in sorted(accounts):
            event = {"id": str(uuid.uuid4()), "type": "account.opened", "source": "accounts",
                     "occurred_at": "2026-11-25T00:00:00Z",
                     "data": {"account_id": account_id, "customer_id": customer, "currency": currency}}
            session.post(base + "/internal/events", json=event, headers=headers(caller="accounts")).raise_for_status()
        admin = headers(subject="ops", roles=("admin",))
        # One EUR/USD rate a day since the month began: each day's USD lines convert at their own.
        first = datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for day in range(31):
            session.put(base + "/api/v1/admin/fx-rates", headers=admin, json={
                "base": "EUR", "quote": "USD", "rate": f"1.{800 + day:04d}",
                "effective_from": (first + timedelta(days=day)).isoformat()}).raise_for_status()
        for account_id, currency in (("bench-eur", "EUR"), ("bench-usd", "USD")):
            session.post(base + "/api/v1/admin/deposits", json={"account_id": account_id, "amount": "1000000.00",
                                                                "currency": currency},
                         headers={**admin, "Idempotency-Key": f"seed-{account_id}"}).raise_for_status()
        started = time.perf_counter()
        for start in range(0, args.lines, 1000):
            items = []
            for n in range(start, min(start + 1000, args.lines)):
                usd = n % 10 == 9
                items.append({"idempotency_key": f"i{n}", "from_account_id": "bench-usd" if usd else "bench-eur",
                              "to_account_id": "payee-usd" if usd else "payee-eur", "amount": f"{1 + n % 50}.25",
                              "currency": "USD" if usd else "EUR", "category": SLUGS[n % len(SLUGS)],
                              "description": f"line {n}"})
            response = session.post(base + "/api/v1/admin/transfers/batch", json={"items": items, "notify": False},
                                    headers=headers(subject="ops", roles=("admin",)))
            response.raise_for_status()
        print(f"loaded {args.lines} lines in {month} in {time.perf_counter() - started:.1f}s")
        # The batch posts them all today; a month of posting leaves one aggregate row per day,
        # account, category and currency: spread them so, the sums unchanged.
        engine = make_engine(dbs["transactions"].owner_url, "bench", pool_size=1)
        with Session(engine) as sql, sql.begin():
            rows = sql.execute(text(SPREAD), {"first": first.date()}).rowcount
        engine.dispose()
        print(f"spending aggregates spread over the month's 31 days: {rows} rows")
        customer = headers(subject="cust-main")
        for category, limit in (("groceries", "5000.00"), ("shopping", "900.00"), ("utilities", "100.00")):
            session.post(base + "/api/v1/budgets", json={"month": month, "category": category, "limit": limit,
                                                         "currency": "EUR"}, headers=customer).raise_for_status()
        cases = {
            "GET /api/v1/insights/spending (EUR)": f"{base}/api/v1/insights/spending?month={month}",
            "GET /api/v1/insights/spending (USD)": f"{base}/api/v1/insights/spending?month={month}&currency=USD",
            "GET /api/v1/budgets (3 budgets)": f"{base}/api/v1/budgets?month={month}",
        }
        print(f"{args.requests} requests per case, one client, gunicorn 2 workers x 4 threads:")
        for name, url in cases.items():
            customer = headers(subject="cust-main")
            first = session.get(url, headers=customer).json()
            samples = time_gets(session, url, customer, args.requests)
            print(f"  {name:<38} {fmt(percentiles(samples))}")
            print(f"    {str(first)[:160]}")


if __name__ == "__main__":
    main()
