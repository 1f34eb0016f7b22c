"""Batch ingestion: N transfers through POST /api/v1/admin/transfers/batch (1,000 per call).

    .venv/bin/python -m bench.batch_ingest [--transfers 1000000] [--accounts 25000] [--clients 2]

Measured at the transactions service (the gateway forwards the body unchanged; its cost
per 1,000-item call is one proxy hop). Each client sends batches of random transfers
between its own share of the accounts, so clients do not queue on the same rows.
"""
from __future__ import annotations

import argparse
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from services.common.service_auth import mint_internal_token

from .harness import BENCH_SECRET, bench_stack


def headers(**claims):
    token = mint_internal_token(BENCH_SECRET, "transactions", claims.pop("caller", "gateway"), **claims)
    return {"Authorization": f"Bearer {token}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=25_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with bench_stack(("transactions",), workers=args.workers) as (_stores, databases, apps):
        base = apps.url("transactions")
        session = requests.Session()
        accounts = [f"ing-{n}" for n in range(args.accounts)]
        t0 = time.perf_counter()
        as_accounts = headers(caller="accounts")
        for account_id in accounts:
            event = {"id": str(uuid.uuid4()), "type": "account.opened", "source": "accounts",
                     "occurred_at": "2026-11-25T00:00:00Z",
                     "data": {"account_id": account_id, "customer_id": f"c-{account_id}", "currency": "EUR"}}
            session.post(base + "/internal/events", json=event, headers=as_accounts).raise_for_status()
        admin = headers(subject="ops", roles=("admin",))
        for account_id in accounts:
            session.post(base + "/api/v1/admin/deposits", headers={**admin, "Idempotency-Key": account_id},
                         json={"account_id": account_id, "amount": "100000.00", "currency": "EUR"}).raise_for_status()
        print(f"opened and funded {args.accounts} accounts in {time.perf_counter() - t0:.1f}s")

        batches = args.transfers // 1000

        def client(number: int) -> tuple[int, list[float]]:
            rng = random.Random(number)
            own = accounts[number::args.clients]
            http = requests.Session()
            posted, latencies = 0, []
            for b in range(number, batches, args.clients):
                items = []
                for n in range(1000):
                    source, target = rng.sample(own, 2)
                    items.append({"idempotency_key": f"b{b}-{n}", "from_account_id": source,
                                  "to_account_id": target, "amount": f"{rng.randint(1, 5000) / 100:.2f}",
                                  "currency": "EUR", "description": "ingested"})
                started = time.perf_counter()
                # Internal tokens live 60 s: mint one per call, as the gateway does.
                response = http.post(base + "/api/v1/admin/transfers/batch", headers=headers(subject="ops", roles=("admin",)),
                                     json={"items": items, "notify": False}, timeout=120)
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                posted += response.json()["posted"]
            return posted, latencies

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(client, range(args.clients)))
        elapsed = time.perf_counter() - started
        posted = sum(p for p, _ in results)
        latencies = sorted(l for _, ls in results for l in ls)
        print(f"{posted} of {batches * 1000} transfers posted in {elapsed:.1f}s "
              f"= {posted / elapsed:,.0f} transfers/s with {args.clients} clients "
              f"(batch call p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms)")

        check = requests.get(base + "/api/v1/admin/ledger-check?run=now", headers=headers(subject="ops", roles=("admin",)),
                             timeout=600).json()
        print(f"ledger check after ingestion: {'ok' if check['ok'] else check['violations'][:5]}")


if __name__ == "__main__":
    main()
