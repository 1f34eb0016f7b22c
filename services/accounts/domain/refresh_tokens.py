"""Refresh tokens: stored as SHA-256 hashes, rotated on every use, revoked by family.

The gateway makes the token (256 random bits) and passes it as it is; only this module
hashes it, so the database never holds a usable token and no endpoint takes a hash (a
hash read from the database opens nothing). Every login starts a family; each refresh
spends one token and adds the next to the family. A spent or revoked token coming back
means it was stolen or replayed: the whole family is revoked, logging out the thief and
the customer alike. Each token lives `ttl_seconds` (sliding) and never past its family's
absolute end (login + `absolute_ttl_seconds`, 30 days by default).
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Customer, RefreshToken
from .errors import InvalidRefreshToken, RefreshTokenReused


def token_hash(raw_token: str) -> str:
    """What is stored of a token: its SHA-256 hex digest (256 random bits need no salt)."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def issue(session: Session, customer_id: uuid.UUID, raw_token: str, ttl_seconds: int,
          absolute_ttl_seconds: int, now: datetime | None = None) -> RefreshToken:
    """The first token of a new family (a login)."""
    now = now or datetime.now(timezone.utc)
    return _store(session, customer_id, raw_token, uuid.uuid4(), ttl_seconds,
                  now + timedelta(seconds=absolute_ttl_seconds), now)


def _store(session: Session, customer_id: uuid.UUID, raw_token: str, family_id: uuid.UUID, ttl_seconds: int,
           family_expires_at: datetime, now: datetime) -> RefreshToken:
    token = RefreshToken(id=uuid.uuid4(), family_id=family_id, customer_id=customer_id,
                         token_hash=token_hash(raw_token), created_at=now,
                         expires_at=min(now + timedelta(seconds=ttl_seconds), family_expires_at),
                         family_expires_at=family_expires_at)
    session.add(token)
    session.flush()
    return token


def rotate(session: Session, raw_token: str, new_raw_token: str, ttl_seconds: int,
           now: datetime | None = None) -> Customer:
    """Spend a token and issue its successor; returns the customer it belongs to.

    Raises RefreshTokenReused after revoking the family: the caller commits, then answers 401.
    """
    now = now or datetime.now(timezone.utc)
    token = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash(raw_token))
                            .with_for_update()).first()
    if token is None:
        raise InvalidRefreshToken("unknown")
    if token.used_at is not None or token.revoked_at is not None:
        revoke_family(session, token.family_id, now)
        raise RefreshTokenReused()
    if token.family_expires_at <= now:
        raise InvalidRefreshToken("expired: the session reached its absolute lifetime; sign in again")
    if token.expires_at <= now:
        raise InvalidRefreshToken("expired")
    token.used_at = now
    _store(session, token.customer_id, new_raw_token, token.family_id, ttl_seconds, token.family_expires_at, now)
    return session.get(Customer, token.customer_id)


def revoke_family(session: Session, family_id: uuid.UUID, now: datetime | None = None) -> int:
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(timezone.utc)))
    return result.rowcount


def logout(session: Session, raw_token: str, customer_id: uuid.UUID) -> None:
    """Revoke the family of this customer's token; another customer's token is unknown."""
    token = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash(raw_token),
                                                       RefreshToken.customer_id == customer_id)).first()
    if token is None:
        raise InvalidRefreshToken("unknown")
    revoke_family(session, token.family_id)
