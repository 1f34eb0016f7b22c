"""Liveness (/healthz: the process answers) and readiness (/readyz: its dependencies do).

A store that is down makes /readyz answer 503 naming the check that failed while /healthz
stays 200, so an orchestrator stops routing to the pod without restarting it. Why it failed
(the exception, which may hold host names, user names or driver details) goes to the log
only, never into the answer.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import Blueprint, Flask, current_app, jsonify

log = logging.getLogger(__name__)
ReadinessCheck = Callable[[], None]  # raises when not ready

health = Blueprint("health", __name__)


def add_readiness_check(app: Flask, name: str, check: ReadinessCheck) -> None:
    app.extensions.setdefault("readiness_checks", {})[name] = check


@health.get("/healthz")
def healthz():
    return jsonify(status="ok", service=current_app.config["SERVICE_NAME"])


@health.get("/readyz")
def readyz():
    checks: dict[str, str] = {}
    ready = True
    for name, check in current_app.extensions.get("readiness_checks", {}).items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; which one, not why
            ready = False
            checks[name] = "failed"
            log.warning("readiness check failed", extra={
                "check": name, "reason": f"{type(exc).__name__}: {exc}".strip()[:300]})
    body = {"status": "ready" if ready else "unavailable",
            "service": current_app.config["SERVICE_NAME"], "checks": checks}
    return jsonify(body), (200 if ready else 503)
