"""Single transfers through the gateway with N concurrent clients, then pgbench on the same server.

    .venv/bin/python -m bench.transfers [--clients 16] [--seconds 30] [--customers 40]
                                        [--workers 2] [--threads 8] [--pgbench-seconds 20]
                                        [--risk-rules on|off] [--direct] [--statements] [--floor]

The whole suite runs as in production, on gunicorn: clients log in at the gateway, which
verifies their access token and forwards each POST /api/v1/transfers to the ledger with an
internal token; every posted transfer also leaves a transfer.posted event for the
preferences service. Each client is one customer moving small amounts from one of their
own accounts to a random account of anyone's, with a fresh Idempotency-Key each time.

Printed: transfers/s, latency percentiles as the client saw them, refusals by status, the
ledger check, then pgbench's TPC-B-like transactions/s on the same PostgreSQL server with
the same number of clients (the ceiling for one-row-per-account updates on this machine).
With --statements the ledger database's pg_stat_statements for the run follow the CPU figures.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import jwt
import psycopg
import requests

from devstack.postgres import bin_dir
from devstack.stack import ensure_admin
from services.common.service_auth import mint_internal_token

from .harness import (BENCH_SECRET, bench_stack, cpu_by_group, cpu_report, fmt, percentiles,
                      stack_roots)
from . import pg_statements
from .risk_cost import risk_cost

PASSWORD = "Bench-Client-Password-2026"


class Client:
    """A logged-in customer talking to the gateway."""

    def __init__(self, gateway: str, email: str, password: str = PASSWORD):
        self.gateway = gateway
        self.http = requests.Session()
        login = self.http.post(f"{gateway}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
        login.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        self.customer_id = jwt.decode(login.json()["access_token"], options={"verify_signature": False})["sub"]

    def post(self, path: str, body: dict, key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.post(self.gateway + path, json=body, headers=headers, timeout=30)


class DirectClient:
    """The same customer calling the ledger directly with internal tokens, as the gateway does:
    the difference to Client is what the gateway hop costs."""

    def __init__(self, transactions: str, customer_id: str):
        self.base, self.customer_id = transactions, customer_id
        self.http = requests.Session()

    def post(self, path: str, body: dict, key: str | None = None) -> requests.Response:
        token = mint_internal_token(BENCH_SECRET, "transactions", "gateway", subject=self.customer_id,
                                    roles=("customer",))
        headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
        return self.http.post(self.base + path, json=body, headers=headers, timeout=30)


def register(gateway: str, number: int) -> str:
    email = f"bench-{number}@example.com"
    response = requests.post(f"{gateway}/api/v1/auth/register", timeout=30,
                             json={"email": email, "password": PASSWORD, "full_name": f"Bench Client {number}"})
    response.raise_for_status()
    return email


def verify(admin: Client, customer_id: str) -> None:
    admin.post(f"/api/v1/admin/customers/{customer_id}/kyc",
               {"status": "verified", "note": "bench"}).raise_for_status()


def open_accounts(client: Client, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = client.post("/api/v1/accounts", {"type": "checking", "currency": "EUR"})
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def fund(admin: Client, account_id: str, amount: str = "1000000.00") -> None:
    # The ledger learns of a new account from the accounts service's outbox: retry until it has.
    deadline = time.monotonic() + 30
    while True:
        response = admin.post("/api/v1/admin/deposits", {"account_id": account_id, "amount": amount,
                                                         "currency": "EUR", "description": "bench funding"},
                              key=f"fund-{account_id}")
        if response.status_code == 201 or time.monotonic() > deadline:
            response.raise_for_status()
            return
        time.sleep(0.2)


def drive(clients: list[Client], owned: list[list[str]], everyone: list[str], seconds: float,
          warmup: float) -> tuple[list[float], Counter, float, int]:
    """Latencies of the posted transfers inside the window, statuses there, the window's
    length, and every request sent (warm-up included: what the CPU figures divide by)."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    sent = [0]
    lock = threading.Lock()
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    def run(number: int) -> None:
        rng = random.Random(number)
        client, mine = clients[number], owned[number]
        while True:
            now = time.monotonic()
            if now >= stop_at:
                return
            source = rng.choice(mine)
            target = rng.choice(everyone)
            while target == source:
                target = rng.choice(everyone)
            body = {"from_account_id": source, "to_account_id": target, "currency": "EUR",
                    "amount": f"{rng.randint(1, 2000) / 100:.2f}", "description": "bench"}
            began = time.monotonic()
            response = client.post("/api/v1/transfers", body, key=str(uuid.uuid4()))
            ended = time.monotonic()
            elapsed = (ended - began) * 1000
            with lock:
                sent[0] += 1
            if began >= measure_from and ended <= stop_at:  # only whole requests inside the window
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 201:
                        latencies.append(elapsed)

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(run, range(len(clients))))
    return latencies, statuses, seconds, sent[0]


def wal_position(admin_url: str) -> int:
    """The server's current WAL position, in bytes."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        return int(connection.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()[0])


def pgbench(admin_url: str, clients: int, seconds: int, scale: int = 10) -> str:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS bench_pgbench")
        connection.execute("CREATE DATABASE bench_pgbench")
    target = admin_url.rsplit("/", 1)[0] + "/bench_pgbench"
    tool = str(bin_dir() / "pgbench")
    subprocess.run([tool, "-i", "-q", "-s", str(scale), target], check=True, capture_output=True)
    result = subprocess.run([tool, "-c", str(clients), "-j", "2", "-T", str(seconds), target],
                            check=True, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines()
             if line.startswith(("tps", "latency average", "number of transactions actually"))]
    return "\n    ".join(lines)


def pgbench_figures(lines: str) -> tuple[int, float]:
    """(transactions processed, tps) from pgbench()'s lines."""
    processed = int(lines.split("actually processed:", 1)[1].split()[0])
    return processed, float(lines.rsplit("tps = ", 1)[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pgbench-seconds", type=int, default=20)
    parser.add_argument("--risk-rules", choices=("on", "off"), default="on",
                        help="the default risk rules (on, as in production) or all disabled, for comparison")
    parser.add_argument("--direct", action="store_true",
                        help="call the transactions service directly (no gateway hop), for comparison")
    parser.add_argument("--statements", action="store_true",
                        help="load pg_stat_statements and print the ledger's statements per transfer")
    parser.add_argument("--floor", action="store_true",
                        help="then the same load against an empty service and an empty proxy "
                             "(bench.http_floor): the ratio's ceiling on this machine, in the same run")
    args = parser.parse_args()
    with bench_stack(("accounts", "transactions", "preferences", "gateway"), workers=args.workers,
                     threads=args.threads,
                     pg_settings=pg_statements.PG_STATEMENTS_SETTINGS if args.statements else None
                     ) as (stores, databases, apps):
        gateway = apps.url("gateway")
        started = time.perf_counter()
        admin_email, admin_password = ensure_admin(databases, log=lambda _m: None)
        admin = Client(gateway, admin_email, admin_password)
        with ThreadPoolExecutor(4) as pool:
            emails = list(pool.map(lambda n: register(gateway, n), range(args.customers)))
            customers = list(pool.map(lambda e: Client(gateway, e), emails))
            list(pool.map(lambda c: verify(admin, c.customer_id), customers))  # they pay each other
            owned = list(pool.map(lambda c: open_accounts(c, 2), customers))
            everyone = [a for accounts in owned for a in accounts]
            list(pool.map(lambda a: fund(admin, a), everyone))
        if args.risk_rules == "off":
            for rule in admin.http.get(gateway + "/api/v1/admin/risk-rules", timeout=30).json()["items"]:
                admin.http.put(f"{gateway}/api/v1/admin/risk-rules/{rule['code']}", json={"enabled": False},
                               timeout=30).raise_for_status()
        print(f"risk rules {args.risk_rules}")
        print(f"set-up: {args.customers} customers, {len(everyone)} accounts funded in "
              f"{time.perf_counter() - started:.1f}s")

        clients = [customers[n % len(customers)] for n in range(args.clients)]
        if args.direct:
            clients = [DirectClient(apps.url("transactions"), c.customer_id) for c in clients]
        mine = [owned[n % len(owned)] for n in range(args.clients)]
        roots = stack_roots(stores, apps)
        if args.statements:
            pg_statements.enable(stores.pg_admin_url)
            pg_statements.reset(stores.pg_admin_url)
        cpu_before = cpu_by_group(roots)
        wal_before = wal_position(stores.pg_admin_url)
        latencies, statuses, seconds, sent = drive(clients, mine, everyone, args.seconds, args.warmup)
        wal_after = wal_position(stores.pg_admin_url)
        cpu_after = cpu_by_group(roots)
        posted = statuses.get(201, 0)
        route = "straight to the transactions service" if args.direct else "through the gateway"
        print(f"transfers {route}: {args.clients} clients, {seconds:.0f}s "
              f"(gunicorn {args.workers} workers x {args.threads} threads per app)")
        print(f"  {posted / seconds:,.0f} transfers/s posted; responses by status: {dict(statuses)}")
        if latencies:
            print(f"  latency {fmt(percentiles(latencies))}")
        print(f"  {cpu_report(cpu_before, cpu_after, sent)} ({sent} requests, warm-up included)")
        # The server's WAL (all four databases, the suite's outbox and inbox rows included): the
        # figure the point-in-time recovery's replay is sized by (docs/operations.md, RPO and RTO).
        print(f"  WAL written: {(wal_after - wal_before) / max(sent, 1):,.0f} bytes per request "
              f"({(wal_after - wal_before) / 1e6:,.1f} MB)")
        if args.statements:
            print("  " + pg_statements.report(stores.pg_admin_url, databases["transactions"].database, sent))
        check = admin.http.get(gateway + "/api/v1/admin/ledger-check?run=now", timeout=600).json()
        print(f"  ledger check: {'ok' if check['ok'] else check['violations'][:5]}")
        print("  " + risk_cost(databases["transactions"].app_url))

        print(f"pgbench TPC-B-like on the same server, {args.clients} clients, {args.pgbench_seconds}s:")
        pgbench_lines = pgbench(stores.pg_admin_url, args.clients, args.pgbench_seconds)
        print("    " + pgbench_lines)
        _, tps = pgbench_figures(pgbench_lines)
        print(f"  ratio: {posted / seconds / tps:.3f} of pgbench")
    if args.floor:  # after the suite has stopped, so it has the machine to itself
        from .http_floor import measure_floor, print_ceiling
        print_ceiling(measure_floor(args.clients, min(args.seconds, 15), args.workers, args.threads), tps)


if __name__ == "__main__":
    main()
