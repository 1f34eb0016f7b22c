"""Statement pages for an account with 100,000 lines, measured at the transactions service.

    .venv/bin/python -m bench.statements [--lines 100000] [--requests 300]

Loads the lines through the ledger's own batch path (so they are real, balanced entries),
then times GET /api/v1/accounts/{id}/transactions over HTTP against gunicorn: the first
page, a page deep in the history (by cursor), and a filtered page.
"""
from __future__ import annotations

import argparse
import time
import uuid

import requests

from services.common.service_auth import mint_internal_token

from .harness import BENCH_SECRET, bench_stack, fmt, percentiles, time_gets


def headers(audience="transactions", **claims):
    token = mint_internal_token(BENCH_SECRET, audience, claims.pop("caller", "gateway"), **claims)
    return {"Authorization": f"Bearer {token}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with bench_stack(("transactions",), workers=2) as (_stores, _dbs, apps):
        base = apps.url("transactions")
        session = requests.Session()
        account, other = "bench-main", "bench-other"
        for account_id, customer in ((account, "cust-main"), (other, "cust-other")):
            event = {"id": str(uuid.uuid4()), "type": "account.opened", "source": "accounts",
                     "occurred_at": "2026-11-25T00:00:00Z",
                     "data": {"account_id": account_id, "customer_id": customer, "currency": "EUR"}}
            session.post(base + "/internal/events", json=event, headers=headers(caller="accounts")).raise_for_status()
        admin = headers(subject="ops", roles=("admin",))
        session.post(base + "/api/v1/admin/deposits", json={"account_id": account, "amount": "1000000.00",
                                                            "currency": "EUR"},
                     headers={**admin, "Idempotency-Key": "seed"}).raise_for_status()
        started = time.perf_counter()
        # Each transfer adds one line to each account's statement.
        for start in range(0, args.lines - 1, 1000):
            items = [{"idempotency_key": f"s{n}", "from_account_id": account, "to_account_id": other,
                      "amount": "0.01", "currency": "EUR", "category": "groceries" if n % 10 == 0 else "other",
                      "description": f"line {n}"}
                     for n in range(start, min(start + 1000, args.lines - 1))]
            # A fresh token per call: internal tokens live 60 s, and loading takes longer.
            response = session.post(base + "/api/v1/admin/transfers/batch",
                                    json={"items": items, "notify": False},
                                    headers=headers(subject="ops", roles=("admin",)))
            response.raise_for_status()
        print(f"loaded {args.lines} statement lines in {time.perf_counter() - started:.1f}s")

        customer = headers(subject="cust-main")
        path = f"/api/v1/accounts/{account}/transactions"
        deep_cursor = None
        url = base + path + "?limit=500"
        for _ in range(100):  # walk to the middle of the history for a deep cursor
            page = session.get(url, headers=customer).json()
            deep_cursor = page["next_cursor"]
            url = base + path + f"?limit=500&cursor={deep_cursor}"
        cases = {
            "first page (50 lines)": base + path,
            "page at line 50,000 (cursor)": base + path + f"?cursor={deep_cursor}",
            "first page, category filter": base + path + "?category=groceries",
            "first page of 500 lines": base + path + "?limit=500",
        }
        print(f"{args.requests} requests per case, one client, gunicorn 2 workers x 4 threads:")
        for name, url in cases.items():
            customer = headers(subject="cust-main")  # fresh for each case (60 s tokens)
            samples = time_gets(session, url, customer, args.requests)
            print(f"  {name:<32} {fmt(percentiles(samples))}")


if __name__ == "__main__":
    main()
