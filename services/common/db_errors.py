"""Store failures that are nobody's input: retried where that is safe (transient.py), else a 503.

When a retry is not enough, or the store is unreachable or restarting, the error handler
answers 503 `service_unavailable` with `Retry-After`, never a 500; the pool reconnects by
itself (pre-ping) once the store is back.
"""
from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import exc as sa_exc

from .problems import problem_response
from .transient import is_unavailable, sqlstate

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "1"


def _store_problem(error: Exception):
    if is_unavailable(error):
        log.warning("store unavailable: %s", type(error).__name__,
                    extra={"sqlstate": sqlstate(error)})
        return problem_response(503, "service_unavailable",
                                "The service's store is busy or unavailable; try again.",
                                headers={"Retry-After": RETRY_AFTER_SECONDS})
    if isinstance(error, sa_exc.DataError):
        # A value the database refused as data (out of range, bad encoding): the input's
        # fault even if validation should have caught it first; logged so it gets fixed.
        log.error("database refused a value that passed validation", exc_info=error)
        return problem_response(422, "validation_error", "A value is out of range.")
    log.exception("unhandled database error", exc_info=error)
    return problem_response(500, "internal_error", "An unexpected error occurred.")


def _mongo_unavailable(error: Exception):
    log.warning("store unavailable: %s", type(error).__name__)
    return problem_response(503, "service_unavailable",
                            "The service's store is unavailable; try again.",
                            headers={"Retry-After": RETRY_AFTER_SECONDS})


def init_store_errors(app: Flask) -> None:
    app.register_error_handler(sa_exc.DBAPIError, _store_problem)
    app.register_error_handler(sa_exc.TimeoutError, _store_problem)
    app.register_error_handler(sa_exc.DisconnectionError, _store_problem)
    try:
        from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError
    except ImportError:  # pragma: no cover - pymongo is a dependency of the suite
        return
    app.register_error_handler(ConnectionFailure, _mongo_unavailable)
    app.register_error_handler(ServerSelectionTimeoutError, _mongo_unavailable)
