"""Prometheus metrics: request counts and latencies per endpoint, served at /metrics.

Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR so /metrics sums all
workers (prometheus_client's multiprocess mode); gunicorn.conf.py cleans up dead workers.
"""
from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)


def init_metrics(app: Flask, service: str) -> None:
    # A registry per app keeps tests that build many apps from clashing on metric names.
    registry = CollectorRegistry()
    requests_total = Counter("http_requests_total", "HTTP requests answered",
                             ["service", "method", "endpoint", "status"], registry=registry)
    latency = Histogram("http_request_duration_seconds", "HTTP request latency",
                        ["service", "method", "endpoint"], registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
    app.extensions["metrics_registry"] = registry
    app.extensions["metrics_collectors"] = []

    @app.before_request
    def _start_timer() -> None:
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("_metrics_started", None)
        # The rule, not the raw path, so ids do not explode label cardinality.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        requests_total.labels(service, request.method, endpoint, str(response.status_code)).inc()
        if started is not None:
            latency.labels(service, request.method, endpoint).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics():
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            collected = CollectorRegistry()
            multiprocess.MultiProcessCollector(collected)
            for collector in app.extensions["metrics_collectors"]:
                collected.register(collector)
            return Response(generate_latest(collected), mimetype=CONTENT_TYPE_LATEST)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def add_collector(app: Flask, collector) -> None:
    """A collector read at scrape time (e.g. gauges queried from the store): in the app's
    registry, and in the multiprocess one, where it is asked once per scrape, not per worker."""
    app.extensions["metrics_registry"].register(collector)
    app.extensions["metrics_collectors"].append(collector)


def watch_pool(app: Flask, engine, pool: str) -> None:
    """db_pool_connections_in_use{service, pool}: connections checked out of the engine's pool
    now, summed over the live workers (multiprocess mode `livesum`)."""
    from prometheus_client import Gauge
    from sqlalchemy import event
    registry = app.extensions.get("metrics_registry")
    if registry is None:
        return
    gauge = app.extensions.get("metrics_pool_gauge")
    if gauge is None:
        gauge = Gauge("db_pool_connections_in_use", "Database connections checked out of the pool",
                      ["service", "pool"], registry=registry, multiprocess_mode="livesum")
        app.extensions["metrics_pool_gauge"] = gauge
    in_use = gauge.labels(app.config["SERVICE_NAME"], pool)
    in_use.set(0)
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())
