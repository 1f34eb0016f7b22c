"""Checking a password, with failed attempts slowing down and then locking logins.

Two counters, both in the database (so they hold across workers, pods and restarts) and
both kept for unknown emails too, so the answers do not tell which emails exist:
- per (email, client address) (login_attempts): a few free failures, then a doubling wait,
  then a lock. Keyed on the address, so whoever hammers an email from elsewhere locks only
  themselves out, never the customer;
- per email from everywhere (login_email_attempts, the hard ceiling): past
  `email_ceiling` failures in `email_window_seconds`, an address that has never signed in
  to this customer gets one try per `ceiling_spacing_seconds` for this email (429
  login_throttled meanwhile). An address the customer has signed in from before
  (login_known_addresses) is never slowed by the ceiling, so a distributed attack cannot
  lock the right password out from the customer's usual place.
Unknown emails cost the same argon2 verification as known ones (against a dummy hash).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..models import Customer, LoginAttempts, LoginEmailAttempts, LoginKnownAddress
from ..passwords import hash_password, needs_rehash, verify_password
from .customers import find_by_email
from .errors import InvalidCredentials, LoginLocked, LoginThrottled


@dataclass(frozen=True)
class LockoutPolicy:
    free_attempts: int = 3    # failures per (email, address) answered at once
    base_delay: float = 1.0   # then a wait that doubles with each failure...
    max_delay: float = 60.0
    lock_after: int = 10      # ...until this many failures lock that (email, address)
    lock_seconds: int = 900   # for this long
    email_ceiling: int = 100            # failures per email, all addresses, in the window...
    email_window_seconds: int = 900
    ceiling_spacing_seconds: float = 5.0  # ...then strangers get one try per this, per email

    def delay_after(self, failures: int) -> float:
        if failures <= self.free_attempts:
            return 0.0
        return min(self.max_delay, self.base_delay * 2 ** (failures - self.free_attempts - 1))


def email_key(email: str) -> str:
    return email.strip().lower()


def client_key(address: str | None) -> str:
    """The address as stored: hashed, so the tables hold no IP addresses in clear."""
    return hashlib.sha256((address or "unknown").strip().lower().encode()).hexdigest()


_RECORD_FAILURE = text("""
    INSERT INTO login_attempts (email_key, client_key, failures, last_failure_at) VALUES (:key, :client, 1, :now)
    ON CONFLICT (email_key, client_key) DO UPDATE
       SET failures = login_attempts.failures + 1, last_failure_at = :now
    RETURNING failures""")
# A window that has run out starts again at 1.
_RECORD_EMAIL_FAILURE = text("""
    INSERT INTO login_email_attempts (email_key, failures, window_started_at) VALUES (:key, 1, :now)
    ON CONFLICT (email_key) DO UPDATE
       SET failures = CASE WHEN login_email_attempts.window_started_at <= :window_start THEN 1
                           ELSE login_email_attempts.failures + 1 END,
           window_started_at = CASE WHEN login_email_attempts.window_started_at <= :window_start THEN :now
                                    ELSE login_email_attempts.window_started_at END
    RETURNING failures""")


def authenticate(session: Session, email: str, password: str, policy: LockoutPolicy,
                 client_address: str | None = None, now: datetime | None = None) -> Customer:
    """The customer for these credentials, or InvalidCredentials / LoginThrottled / LoginLocked.

    On InvalidCredentials the failure has been recorded: the caller commits before answering.
    """
    now = now or datetime.now(timezone.utc)
    key, client = email_key(email), client_key(client_address)
    # Locked for the verification: one address's attempts on one email queue behind each other.
    attempts = session.get(LoginAttempts, (key, client), with_for_update=True)
    if attempts is not None:
        _refuse_if_throttled(attempts, now)
        if attempts.locked_until is not None:  # a lock that has run out starts a fresh count
            _forget(session, key, client)
    customer = find_by_email(session, key)
    known_here = customer is not None and session.get(LoginKnownAddress, (customer.id, client)) is not None
    # Read without a lock: an attack on the email must not make the customer's login queue.
    ceiling = session.get(LoginEmailAttempts, key)
    over_ceiling = (ceiling is not None and ceiling.failures >= policy.email_ceiling
                    and ceiling.window_started_at > now - timedelta(seconds=policy.email_window_seconds))
    if over_ceiling and not known_here and ceiling.next_attempt_at is not None and ceiling.next_attempt_at > now:
        raise LoginThrottled(_seconds_until(ceiling.next_attempt_at, now))
    # Always one argon2 verification: an unknown email costs as much as a wrong password.
    if not verify_password(customer.password_hash if customer is not None else None, password):
        _record_failure(session, key, client, policy, now, stranger=not known_here)
        raise InvalidCredentials()
    _forget(session, key, client)
    _remember_address(session, customer, client, now)
    if needs_rehash(customer.password_hash):
        customer.password_hash = hash_password(password)
    return customer


def _refuse_if_throttled(attempts: LoginAttempts, now: datetime) -> None:
    if attempts.locked_until is not None and attempts.locked_until > now:
        raise LoginLocked(_seconds_until(attempts.locked_until, now))
    if attempts.next_attempt_at is not None and attempts.next_attempt_at > now:
        raise LoginThrottled(_seconds_until(attempts.next_attempt_at, now))


def _forget(session: Session, key: str, client: str) -> None:
    session.execute(delete(LoginAttempts).where(LoginAttempts.email_key == key, LoginAttempts.client_key == client))


def _remember_address(session: Session, customer: Customer, client: str, now: datetime) -> None:
    statement = insert(LoginKnownAddress).values(customer_id=customer.id, client_key=client, last_login_at=now)
    session.execute(statement.on_conflict_do_update(index_elements=["customer_id", "client_key"],
                                                    set_={"last_login_at": now}))


def _record_failure(session: Session, key: str, client: str, policy: LockoutPolicy, now: datetime,
                    stranger: bool) -> None:
    failures = session.execute(_RECORD_FAILURE, {"key": key, "client": client, "now": now}).scalar_one()
    values: dict = {"next_attempt_at": now + timedelta(seconds=policy.delay_after(failures))}
    if failures >= policy.lock_after:
        values["locked_until"] = now + timedelta(seconds=policy.lock_seconds)
    session.execute(update(LoginAttempts)
                    .where(LoginAttempts.email_key == key, LoginAttempts.client_key == client).values(**values))
    window_start = now - timedelta(seconds=policy.email_window_seconds)
    email_failures = session.execute(_RECORD_EMAIL_FAILURE,
                                     {"key": key, "now": now, "window_start": window_start}).scalar_one()
    if stranger and email_failures >= policy.email_ceiling:
        session.execute(update(LoginEmailAttempts).where(LoginEmailAttempts.email_key == key).values(
            next_attempt_at=now + timedelta(seconds=policy.ceiling_spacing_seconds)))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
