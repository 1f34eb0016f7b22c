"""JSON logs on stderr, each line carrying the service name, the current request id and the
current trace and span ids (services/common/tracing.py; null outside a trace)."""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from .request_id import current_request_id
from .tracing import current_ids


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = current_request_id()
        record.trace_id, record.span_id = current_ids()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route the root logger to one JSON handler; safe to call more than once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s %(trace_id)s %(span_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_finova", False):
            root.removeHandler(old)
    handler._finova = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())


def init_access_log(app) -> None:
    """One JSON line per request, so a request id can be followed through every service."""
    import time

    from flask import g, request

    access = logging.getLogger("access")

    @app.before_request
    def _access_start() -> None:
        g._access_started = time.perf_counter()

    @app.after_request
    def _access_line(response):
        started = g.pop("_access_started", None)
        if request.path not in ("/healthz", "/readyz", "/metrics"):
            access.info("request", extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            })
        return response
