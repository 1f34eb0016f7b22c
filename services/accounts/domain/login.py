"""Checking a password, with failed attempts per email slowing down and then locking logins.

The counter lives in the database (login_attempts), so it holds across workers, pods and
restarts, and it is kept for unknown emails too, so the answers do not tell which exist.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session

from ..models import Customer, LoginAttempts
from ..passwords import hash_password, needs_rehash, verify_password
from .customers import find_by_email
from .errors import InvalidCredentials, LoginThrottled


@dataclass(frozen=True)
class LockoutPolicy:
    free_attempts: int = 3    # failures answered at once
    base_delay: float = 1.0   # then a wait that doubles with each failure...
    max_delay: float = 60.0
    lock_after: int = 10      # ...until this many failures lock the email
    lock_seconds: int = 900   # for this long

    def delay_after(self, failures: int) -> float:
        if failures <= self.free_attempts:
            return 0.0
        return min(self.max_delay, self.base_delay * 2 ** (failures - self.free_attempts - 1))


_RECORD_FAILURE = text("""
    INSERT INTO login_attempts (email_key, failures, last_failure_at) VALUES (:key, 1, :now)
    ON CONFLICT (email_key) DO UPDATE
       SET failures = login_attempts.failures + 1, last_failure_at = :now
    RETURNING failures""")


def authenticate(session: Session, email: str, password: str, policy: LockoutPolicy,
                 now: datetime | None = None) -> Customer:
    """The customer for these credentials, or InvalidCredentials / LoginThrottled.

    On InvalidCredentials the failure has been recorded: the caller commits before answering.
    """
    now = now or datetime.now(timezone.utc)
    key = email.strip().lower()
    attempts = session.get(LoginAttempts, key, with_for_update=True)
    if attempts is not None:
        _refuse_if_throttled(attempts, now)
        if attempts.locked_until is not None:  # a lock that has run out starts a fresh count
            session.execute(delete(LoginAttempts).where(LoginAttempts.email_key == key))
    customer = find_by_email(session, key)
    if customer is None or not verify_password(customer.password_hash, password):
        _record_failure(session, key, policy, now)
        raise InvalidCredentials()
    session.execute(delete(LoginAttempts).where(LoginAttempts.email_key == key))
    if needs_rehash(customer.password_hash):
        customer.password_hash = hash_password(password)
    return customer


def _refuse_if_throttled(attempts: LoginAttempts, now: datetime) -> None:
    if attempts.locked_until is not None and attempts.locked_until > now:
        raise LoginThrottled(_seconds_until(attempts.locked_until, now), locked=True)
    if attempts.next_attempt_at is not None and attempts.next_attempt_at > now:
        raise LoginThrottled(_seconds_until(attempts.next_attempt_at, now), locked=False)


def _record_failure(session: Session, key: str, policy: LockoutPolicy, now: datetime) -> None:
    failures = session.execute(_RECORD_FAILURE, {"key": key, "now": now}).scalar_one()
    values: dict = {"next_attempt_at": now + timedelta(seconds=policy.delay_after(failures))}
    if failures >= policy.lock_after:
        values["locked_until"] = now + timedelta(seconds=policy.lock_seconds)
    session.execute(update(LoginAttempts).where(LoginAttempts.email_key == key).values(**values))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
