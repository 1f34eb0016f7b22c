"""Liveness (/healthz: the process answers) and readiness (/readyz: its dependencies do).

A store that is down makes /readyz answer 503 with the reason while /healthz stays 200, so
an orchestrator stops routing to the pod without restarting it.
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
        except Exception as exc:  # any failure means not ready; say why
            ready = False
            checks[name] = f"{type(exc).__name__}: {exc}".strip()[:300]
            log.warning("readiness check failed", extra={"check": name, "reason": checks[name]})
    body = {"status": "ready" if ready else "unavailable",
            "service": current_app.config["SERVICE_NAME"], "checks": checks}
    return jsonify(body), (200 if ready else 503)
