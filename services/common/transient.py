"""Store failures that mean "try again", and the retry: Flask-free, so the domain packages
(the runner's units of work) use it too; db_errors.py answers what is left as a 503.

A lock timeout, a deadlock or a serialization failure means "try again": `retry_transient`
re-runs a unit of work a bounded number of times.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Callable, TypeVar

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)
T = TypeVar("T")

# serialization_failure, deadlock_detected, lock_not_available (lock_timeout).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
# Class 08 (connection exceptions) and the server shutting down or starting up.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57014"})


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
