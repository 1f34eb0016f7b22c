"""Store failures that are nobody's input: retried where that is safe, else a 503.

A lock timeout, a deadlock or a serialization failure means "try again": `retry_transient`
re-runs a unit of work a bounded number of times. When that is not enough, or the store
is unreachable or restarting, the error handler answers 503 `service_unavailable` with
`Retry-After`, never a 500; the pool reconnects by itself (pre-ping) once the store is back.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Callable, TypeVar

from flask import Flask
from sqlalchemy import exc as sa_exc

from .problems import problem_response

log = logging.getLogger(__name__)
T = TypeVar("T")

# serialization_failure, deadlock_detected, lock_not_available (lock_timeout).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
# Class 08 (connection exceptions) and the server shutting down or starting up.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57014"})
RETRY_AFTER_SECONDS = "1"


def sqlstate(error: BaseException) -> str | None:
    original = getattr(error, "orig", error)
    return getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)


def is_transient(error: BaseException) -> bool:
    return isinstance(error, sa_exc.DBAPIError) and sqlstate(error) in TRANSIENT_SQLSTATES


def is_unavailable(error: BaseException) -> bool:
    """The store could not serve the request at all (down, restarting, pool exhausted)."""
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = sqlstate(error)
    if state is None:
        # psycopg raises OperationalError without a SQLSTATE when it cannot connect.
        return isinstance(error, sa_exc.OperationalError)
    return state.startswith("08") or state in UNAVAILABLE_SQLSTATES or state in TRANSIENT_SQLSTATES


def retry_transient(work: Callable[[], T], attempts: int = 3,
                    before_retry: Callable[[], None] | None = None) -> T:
    """Run `work`, again (up to `attempts` in all) when it failed transiently.

    `work` must be a whole unit of work (its own transaction); `before_retry` is called
    between attempts, for example to roll the failed session back."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except sa_exc.DBAPIError as error:
            if attempt == attempts or not is_transient(error):
                raise
            log.info("transient database error, retrying",
                     extra={"sqlstate": sqlstate(error), "attempt": attempt})
            if before_retry is not None:
                before_retry()
            time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")


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
