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

from devstack.stack import (ROOT, AppProcesses, Stores, app_environment, free_port, migrate,
                            prepare_databases, start_apps, start_stores)

BENCH_SECRET = "bench-internal-token-secret-long-enough-000"
BENCH_JWT_KEYS = "bench-1:bench-jwt-signing-key-that-is-long-enough-01"


@contextmanager
def bench_stack(apps: tuple[str, ...], workers: int = 2, threads: int = 4,
                durable: bool = True) -> Iterator[tuple[Stores, dict, AppProcesses]]:
    data_dir = ROOT / ".data" / "bench" / f"run-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    stores = start_stores(data_dir, free_port(), free_port(), durable=durable, log=print)
    running = None
    try:
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
