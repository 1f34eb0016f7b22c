"""The gateway's added latency: the same GET straight to a service versus through the gateway.

    .venv/bin/python -m bench.gateway_latency [--requests 2000] [--warmup 100]

Starts transactions and the gateway (gunicorn, 2 workers x 4 threads each), then times two
GETs at the transactions service: a cheap one (GET /api/v1/currencies, reference data) where
the gateway's own work dominates, and a statement page (a database read). Direct calls carry
an internal token, as the gateway's would; gateway calls carry a customer access token, so
they pay for the access-token check, the rate limiter, the breaker, minting the internal token
and a second HTTP hop. Calls alternate direct / gateway so drift hits both sides alike; one
client, keep-alive connections. "added" is the percentile of the per-pair difference.
"""
from __future__ import annotations

import argparse
import os
import time
import uuid

import requests

from gateway.tokens import AccessTokens, parse_signing_keys
from services.common.service_auth import mint_internal_token

from .harness import BENCH_JWT_KEYS, BENCH_SECRET, bench_stack, fmt, percentiles

CUSTOMER = "bench-customer"
ACCOUNT = "bench-gw-account"


def internal(subject=None, roles=(), caller="gateway"):
    return {"Authorization": f"Bearer {mint_internal_token(BENCH_SECRET, 'transactions', caller, subject, roles)}"}


def seed(base: str, session: requests.Session) -> None:
    """One customer account with a few statement lines, told to the ledger as accounts would."""
    event = {"id": str(uuid.uuid4()), "type": "account.opened", "source": "accounts",
             "occurred_at": "2026-11-25T00:00:00Z",
             "data": {"account_id": ACCOUNT, "customer_id": CUSTOMER, "currency": "EUR"}}
    session.post(base + "/internal/events", json=event, headers=internal(caller="accounts")).raise_for_status()
    for n in range(20):
        session.post(base + "/api/v1/admin/deposits", json={"account_id": ACCOUNT, "amount": "10.00",
                                                            "currency": "EUR", "description": f"seed {n}"},
                     headers={**internal("ops", ("admin",)), "Idempotency-Key": f"seed-{n}"}).raise_for_status()


def measure(session, direct_url, direct_headers, gateway_url, gateway_headers, requests_, warmup):
    for _ in range(warmup):
        session.get(direct_url, headers=direct_headers)
        session.get(gateway_url, headers=gateway_headers)
    direct, through, added = [], [], []
    for _ in range(requests_):
        t0 = time.perf_counter()
        first = session.get(direct_url, headers=direct_headers)
        t1 = time.perf_counter()
        second = session.get(gateway_url, headers=gateway_headers)
        t2 = time.perf_counter()
        assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
        direct.append((t1 - t0) * 1000)
        through.append((t2 - t1) * 1000)
        added.append(((t2 - t1) - (t1 - t0)) * 1000)
    return direct, through, added


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="pairs of requests per case")
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    # The started apps inherit these: the gateway's keys (app_environment takes JWT_SIGNING_KEYS
    # from the environment) and limits far above what one benchmark client sends.
    os.environ["JWT_SIGNING_KEYS"] = BENCH_JWT_KEYS
    os.environ["RATE_LIMIT_PER_IP"] = os.environ["RATE_LIMIT_PER_CUSTOMER"] = "1000000/minute"
    with bench_stack(("transactions", "gateway"), workers=2, threads=4) as (_stores, _dbs, apps):
        session = requests.Session()
        service, gateway = apps.url("transactions"), apps.url("gateway")
        seed(service, session)
        tokens = AccessTokens(tuple(parse_signing_keys(BENCH_JWT_KEYS)), "https://api.finovabank.example",
                              "finova-api", ttl_seconds=3600)
        as_customer = {"Authorization": f"Bearer {tokens.issue(CUSTOMER, ['customer'])}"}
        # The internal token is minted once here; the gateway mints one per request (part of its cost).
        direct_headers = internal(CUSTOMER, ("customer",))
        cases = {
            "GET /api/v1/currencies": "/api/v1/currencies",
            "GET statement (20 lines)": f"/api/v1/accounts/{ACCOUNT}/transactions",
        }
        print(f"{args.requests} request pairs per case, one client; gunicorn 2 workers x 4 threads per app")
        for name, path in cases.items():
            direct, through, added = measure(session, service + path, direct_headers, gateway + path, as_customer,
                                             args.requests, args.warmup)
            print(name)
            print(f"  direct   {fmt(percentiles(direct))}")
            print(f"  gateway  {fmt(percentiles(through))}")
            print(f"  added    {fmt(percentiles(added))}")


if __name__ == "__main__":
    main()
