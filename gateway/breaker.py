"""A circuit breaker per upstream: stop calling a service that keeps failing, probe it later.

closed -> open after `threshold` consecutive failures; open answers at once (no call) until
`reset_seconds` have passed; then one caller is let through as a probe (half-open): its
success closes the circuit, its failure opens it for another `reset_seconds`.

Hand-written rather than pybreaker because pybreaker holds its lock for the whole guarded
call, which would let one slow upstream request block every other request to that
upstream in the same worker. State is per process: each gunicorn worker learns on its own.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitOpen(Exception):
    """The circuit is open: the upstream is not called."""

    def __init__(self, retry_after: float):
        super().__init__(f"circuit open, next probe in {retry_after:.1f}s")
        self.retry_after = retry_after


class CircuitBreaker:
    def __init__(self, threshold: int = 5, reset_seconds: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return CLOSED
            if self._probing or self._clock() - self._opened_at >= self.reset_seconds:
                return HALF_OPEN
            return OPEN

    def before_call(self) -> None:
        """Raise CircuitOpen unless this caller may call the upstream now."""
        with self._lock:
            if self._opened_at is None:
                return
            waited = self._clock() - self._opened_at
            if waited < self.reset_seconds:
                raise CircuitOpen(self.reset_seconds - waited)
            if self._probing:  # one probe at a time; the others still fail fast
                raise CircuitOpen(0.0)
            self._probing = True

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def record_nothing(self) -> None:
        """The call says nothing about the upstream's health; a probe may be tried again."""
        with self._lock:
            self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.threshold:
                self._opened_at = self._clock()
                self._probing = False
