"""A throw-away suite for benchmarks: stores, migrations and apps on free ports.

Benchmarks print figures; they assert nothing. Data lives under .data/bench/ and is
deleted afterwards.
"""
from __future__ import annotations

import os
import shutil
import statistics
import time
from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg import sql

from devstack.stack import (ROOT, AppProcesses, Stores, app_environment, free_port, migrate,
                            prepare_databases, start_apps, start_stores)

BENCH_SECRET = "bench-internal-token-secret-long-enough-000"
BENCH_JWT_KEYS = "bench-1:bench-jwt-signing-key-that-is-long-enough-01"


@contextmanager
def bench_stack(apps: tuple[str, ...], workers: int = 2, threads: int = 4, durable: bool = True,
                pg_settings: dict[str, str] | None = None) -> Iterator[tuple[Stores, dict, AppProcesses]]:
    data_dir = ROOT / ".data" / "bench" / f"run-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    stores = start_stores(data_dir, free_port(), free_port(), durable=durable, log=print)
    running = None
    try:
        if pg_settings:
            _restart_with(stores, pg_settings)
        databases = prepare_databases(stores)
        migrate(databases, stores.mongo_url, "preferences", log=lambda _m: None)
        ports = {name: free_port() for name in ("gateway", "accounts", "transactions", "preferences")}
        environments = app_environment(ports, databases, stores.mongo_url, "preferences", extra={
            "INTERNAL_TOKEN_SECRET": BENCH_SECRET, "JWT_SIGNING_KEYS": BENCH_JWT_KEYS,
            "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads),
            "LOG_LEVEL": "WARNING", "ACCESS_LOG": "false",
            # All load comes from one IP: limits stay on (their cost is measured), out of reach.
            "RATE_LIMIT_PER_IP": "10000000/minute", "RATE_LIMIT_PER_CUSTOMER": "10000000/minute",
            "RATE_LIMIT_LOGIN_PER_IP": "100000/minute", "RATE_LIMIT_LOGIN_PER_EMAIL": "100000/minute",
            "RATE_LIMIT_REGISTER_PER_IP": "100000/minute"})
        running = start_apps(ports, environments, data_dir / "logs", names=apps)
        yield stores, databases, running
    finally:
        if running is not None:
            running.stop()
        stores.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _restart_with(stores: Stores, settings: dict[str, str]) -> None:
    """Server settings that need a restart (a preloaded library), on the embedded server only."""
    if stores.embedded_pg is None:
        raise SystemExit("server settings for the bench need the embedded PostgreSQL (unset DATABASE_URL)")
    with psycopg.connect(stores.pg_admin_url, autocommit=True) as conn:
        for name, value in settings.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
    stores.embedded_pg.stop()
    stores.embedded_pg.start()


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


def fmt(stats: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:7.2f} ms" for k, v in stats.items())


def time_gets(session, url: str, headers: dict, requests: int, warmup: int = 20) -> list[float]:
    """Milliseconds per GET of `url`, one client, after `warmup` untimed ones (connection
    pools and caches); each answer must be a 200."""
    for _ in range(warmup):
        session.get(url, headers=headers)
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        response = session.get(url, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return samples


# --- CPU by process -----------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, float]]:
    """{pid: (parent pid, user+system CPU seconds)} of every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state ppid ... utime(12) stime(13), counted from field 3
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
    return table


def cpu_by_group(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process tree (root and its descendants, less
    the trees of the other roots: the bench client started the apps, but they count apart).

    Take it before and after a run and subtract: processes that exit in between take
    their seconds with them, so trees should be long-lived (gunicorn workers, PostgreSQL
    backends held by pools)."""
    table = _process_table()
    others = set(roots.values())
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    totals = {}
    for name, root in roots.items():
        seconds, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            if pid in table:
                seconds += table[pid][1]
            stack.extend(child for child in children.get(pid, ()) if child not in others)
        totals[name] = seconds
    return totals


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds so far of each live process in `root`'s tree, by pid: sampled while a run
    goes on, it keeps the figures of processes that exit before the end (PostgreSQL's
    backends of a client that disconnects), which cpu_by_group loses."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            found[pid] = table[pid][1]
        stack.extend(children.get(pid, ()))
    return found


def cpu_report(before: dict[str, float], after: dict[str, float], operations: int) -> str:
    """Milliseconds of CPU per operation by process tree, and in all."""
    if not operations:
        return "no operations"
    used = {name: (after[name] - before.get(name, 0.0)) * 1000 / operations for name in after}
    parts = [f"{name} {ms:.2f}" for name, ms in sorted(used.items(), key=lambda kv: -kv[1])]
    return "CPU ms per operation: " + ", ".join(parts) + f"; total {sum(used.values()):.2f}"


def stack_roots(stores, apps, bench_pid: int | None = None) -> dict[str, int]:
    """The process trees of a bench_stack: each app, PostgreSQL, MongoDB and this client."""
    roots = {name: process.pid for name, process in apps.processes.items()}
    if stores.embedded_pg is not None and stores.embedded_pg.pid() is not None:
        roots["postgres"] = stores.embedded_pg.pid()
    if stores.mongo_process is not None:
        roots["mongodb"] = stores.mongo_process.pid
    roots["bench client"] = bench_pid or os.getpid()
    return roots
