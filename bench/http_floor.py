"""What a request costs before the suite does any work: the floor under bench.transfers.

    .venv/bin/python -m bench.http_floor [--clients 16] [--seconds 15] [--pgbench-seconds 10]

Issue 19's target is a ratio: transfers/s through the gateway against pgbench's TPC-B-like
transactions/s on the same server and cores, 0.25 (0.15 at the very least). This script
measures, in one run, the same ratio for a path that does no work at all:
- the same load generator as bench.transfers (16 threads, requests.Session, keep-alive, a
  transfer-sized JSON body, a fresh Idempotency-Key header);
- an empty Flask app on gunicorn, 2 workers x 8 gthreads as every service runs: it parses
  the JSON and answers a transfer-sized 201 (what the ledger's HTTP layer costs at least);
- an empty Flask proxy on the same gunicorn settings that forwards the POST with a pooled
  requests.Session and hands the answer back (what the gateway's hop costs at least);
- pgbench on an embedded PostgreSQL 18 (fsync on) with the same clients, and the CPU it
  uses per transaction (server and pgbench).
Printed: requests/s and CPU milliseconds per request by process, direct and through the
proxy, and each path's requests/s over pgbench's tps: the ceiling of the ratio for any
transfer path of that shape on this machine. It asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from flask import Flask, Response, request

from devstack.postgres import EmbeddedPostgres, bin_dir
from devstack.stack import ROOT, free_port

from .harness import cpu_by_group, tree_cpu
from .transfers import pgbench_figures

# A transfer request and answer of the sizes bench.transfers sends and gets back.
REQUEST = {"from_account_id": str(uuid.uuid4()), "to_account_id": str(uuid.uuid4()), "currency": "EUR",
           "amount": "12.34", "description": "bench"}
ANSWER = ('{"id": "%s", "status": "posted", "kind": "transfer", "amount": "12.34", "currency": "EUR", '
          '"from_account_id": "%s", "to_account_id": "%s", "description": "bench", "category": "transfers", '
          '"created_at": "2026-12-04T21:00:00.000000Z", "fee": "0.00", "risk": {"outcome": "flag", '
          '"rules": ["velocity_count"]}, "postings": [{"account_id": "%s", "amount": "-12.34", '
          '"currency": "EUR", "balance_after": "999987.66"}, {"account_id": "%s", "amount": "12.34", '
          '"currency": "EUR", "balance_after": "1000012.34"}]}') % ((uuid.uuid4(),) * 5)


def echo_app() -> Flask:
    """The least a JSON service does per POST: parse the body, answer 201 with JSON."""
    app = Flask("floor-echo")

    @app.post("/api/v1/transfers")
    def transfer():
        body = request.get_json()
        return Response(ANSWER, status=201 if body else 400, mimetype="application/json")

    return app


def proxy_app() -> Flask:
    """The least a gateway does per POST: forward it with a pooled session, hand back the answer."""
    app = Flask("floor-proxy")
    upstream = os.environ["FLOOR_UPSTREAM"]
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=20, pool_maxsize=20))

    @app.post("/api/v1/transfers")
    def transfer():
        answer = session.post(upstream + request.path, data=request.get_data(), timeout=(1, 5),
                              headers={"Content-Type": "application/json",
                                       "Idempotency-Key": request.headers.get("Idempotency-Key", "")})
        return Response(answer.content, status=answer.status_code, mimetype="application/json")

    return app


def gunicorn(factory: str, port: int, workers: int, threads: int, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", str(workers), "--threads", str(threads),
               "--keep-alive", "5", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
               f"bench.http_floor:{factory}()"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.post(url, json=REQUEST, timeout=2).status_code == 201:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def load(url: str, clients: int, seconds: float) -> int:
    """Requests answered 201 in `seconds` by `clients` keep-alive sessions."""
    done = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def run(_: int) -> None:
        http = requests.Session()
        count = 0
        while time.monotonic() < stop_at:
            if http.post(url, json=REQUEST, headers={"Idempotency-Key": str(uuid.uuid4())},
                         timeout=30).status_code == 201:
                count += 1
        with lock:
            done[0] += count

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return done[0]


def measured(label: str, url: str, roots: dict[str, int], clients: int, seconds: float) -> dict[str, float]:
    load(url, clients, 2)  # warm-up: connections, imports
    before = cpu_by_group(roots)
    count = load(url, clients, seconds)
    after = cpu_by_group(roots)
    used = {name: (after[name] - before[name]) * 1000 / max(count, 1) for name in roots}
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in used.items())
    print(f"{label}: {count / seconds:,.0f} requests/s; CPU ms per request: {parts}; "
          f"total {sum(used.values()):.2f}")
    return {**used, "rate": count / seconds}


def pgbench_cost(clients: int, seconds: int) -> tuple[float, float]:
    """(tps, CPU ms per transaction of the server and pgbench) on a fresh embedded server."""
    data = ROOT / ".data" / "bench" / f"floor-{os.getpid()}"
    shutil.rmtree(data, ignore_errors=True)
    server = EmbeddedPostgres(data / "postgres", free_port(), durable=True)
    server.start()
    try:
        tool = str(bin_dir() / "pgbench")
        target = server.admin_url
        subprocess.run([tool, "-i", "-q", "-s", "10", target], check=True, capture_output=True)
        bench = subprocess.Popen([tool, "-c", str(clients), "-j", "2", "-T", str(seconds), target],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        # Not transfers.pgbench: its CPU is measured over the run alone, without the -i load.
        # The run's backends exit with pgbench, so both trees are sampled until it is gone and
        # each process counts with the last figure seen of it.
        before = {**tree_cpu(server.pid()), **tree_cpu(bench.pid)}
        seen = dict(before)
        while bench.poll() is None:
            seen.update({**tree_cpu(server.pid()), **tree_cpu(bench.pid)})
            time.sleep(0.1)
        out = bench.stdout.read()
        seen.update(tree_cpu(server.pid()))
        cpu_seconds = sum(seen.values()) - sum(before.values())
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    processed, tps = pgbench_figures(out)
    cpu = cpu_seconds * 1000 / processed
    print(f"pgbench TPC-B-like, {clients} clients, {seconds}s: {tps:,.0f} tps; CPU ms per transaction: "
          f"{cpu:.2f} (server and pgbench)")
    return tps, cpu


def measure_floor(clients: int, seconds: float, workers: int = 2, threads: int = 8) -> dict[str, dict[str, float]]:
    """Requests/s and CPU ms per request of the empty paths: {"direct": ..., "proxied": ...}."""
    echo_port, proxy_port = free_port(), free_port()
    echo = gunicorn("echo_app", echo_port, workers, threads, {})
    proxy = gunicorn("proxy_app", proxy_port, workers, threads, {"FLOOR_UPSTREAM": f"http://127.0.0.1:{echo_port}"})
    try:
        wait_up(f"http://127.0.0.1:{echo_port}/api/v1/transfers")
        wait_up(f"http://127.0.0.1:{proxy_port}/api/v1/transfers")
        roots = {"service": echo.pid, "proxy": proxy.pid, "load generator": os.getpid()}
        direct = measured("client -> empty service", f"http://127.0.0.1:{echo_port}/api/v1/transfers",
                          roots, clients, seconds)
        proxied = measured("client -> empty proxy -> empty service",
                           f"http://127.0.0.1:{proxy_port}/api/v1/transfers", roots, clients, seconds)
    finally:
        for process in (echo, proxy):
            process.terminate()
        for process in (echo, proxy):
            process.wait(timeout=30)
    return {"direct": direct, "proxied": proxied}


def print_ceiling(floor: dict[str, dict[str, float]], tps: float) -> None:
    print(f"ratio to pgbench of the empty paths: client -> service {floor['direct']['rate'] / tps:.3f}, "
          f"client -> proxy -> service {floor['proxied']['rate'] / tps:.3f} (issue 19's target: 0.25, at least 0.15)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()
    floor = measure_floor(args.clients, args.seconds, args.workers, args.threads)
    tps, _ = pgbench_cost(args.clients, args.pgbench_seconds)
    print_ceiling(floor, tps)


if __name__ == "__main__":
    main()
