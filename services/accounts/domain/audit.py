"""The audit log: who changed what, when, with which request; read by admins newest first."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditLog


@dataclass(frozen=True)
class Actor:
    """Who acts: a customer, an admin (both by customer id) or the system (CLI, jobs)."""

    id: uuid.UUID | None
    type: str  # customer | admin | system
    request_id: str | None = None


SYSTEM = Actor(id=None, type="system")


def record(session: Session, actor: Actor, action: str, target_type: str, target_id: object,
           customer_id: uuid.UUID | None, before: dict | None = None, after: dict | None = None) -> None:
    session.add(AuditLog(actor_id=actor.id, actor_type=actor.type, action=action,
                         target_type=target_type, target_id=str(target_id), customer_id=customer_id,
                         before=before, after=after, request_id=actor.request_id))


@dataclass(frozen=True)
class AuditFilter:
    actor_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_entries(session: Session, filters: AuditFilter, limit: int,
                 before_id: int | None = None) -> tuple[list[AuditLog], int | None]:
    """A page of entries, newest first; returns the entries and the id to continue below."""
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit + 1)
    for column, value in ((AuditLog.actor_id, filters.actor_id), (AuditLog.customer_id, filters.customer_id),
                          (AuditLog.action, filters.action), (AuditLog.target_type, filters.target_type),
                          (AuditLog.target_id, filters.target_id)):
        if value is not None:
            query = query.where(column == value)
    if filters.since is not None:
        query = query.where(AuditLog.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditLog.occurred_at < filters.until)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    rows = list(session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None
