"""Refresh tokens: stored as SHA-256 hashes, rotated on every use, revoked by family.

The gateway makes the token (256 random bits) and sends only its hash, so this database
never holds a usable token. Every login starts a family; each refresh spends one token and
adds the next to the family. A spent or revoked token coming back means it was stolen or
replayed: the whole family is revoked, logging out the thief and the customer alike.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Customer, RefreshToken
from .errors import InvalidRefreshToken, RefreshTokenReused


def issue(session: Session, customer_id: uuid.UUID, token_hash: str, ttl_seconds: int,
          family_id: uuid.UUID | None = None, now: datetime | None = None) -> RefreshToken:
    now = now or datetime.now(timezone.utc)
    token = RefreshToken(id=uuid.uuid4(), family_id=family_id or uuid.uuid4(), customer_id=customer_id,
                         token_hash=token_hash, created_at=now, expires_at=now + timedelta(seconds=ttl_seconds))
    session.add(token)
    session.flush()
    return token


def rotate(session: Session, token_hash: str, new_token_hash: str, ttl_seconds: int,
           now: datetime | None = None) -> Customer:
    """Spend a token and issue its successor; returns the customer it belongs to.

    Raises RefreshTokenReused after revoking the family: the caller commits, then answers 401.
    """
    now = now or datetime.now(timezone.utc)
    token = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash)
                            .with_for_update()).first()
    if token is None:
        raise InvalidRefreshToken("unknown")
    if token.used_at is not None or token.revoked_at is not None:
        revoke_family(session, token.family_id, now)
        raise RefreshTokenReused()
    if token.expires_at <= now:
        raise InvalidRefreshToken("expired")
    token.used_at = now
    issue(session, token.customer_id, new_token_hash, ttl_seconds, token.family_id, now)
    return session.get(Customer, token.customer_id)


def revoke_family(session: Session, family_id: uuid.UUID, now: datetime | None = None) -> int:
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(timezone.utc)))
    return result.rowcount


def logout(session: Session, token_hash: str, customer_id: uuid.UUID) -> None:
    """Revoke the family of this customer's token; another customer's token is unknown."""
    token = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash,
                                                       RefreshToken.customer_id == customer_id)).first()
    if token is None:
        raise InvalidRefreshToken("unknown")
    revoke_family(session, token.family_id)
