"""What handlers need from the request: a scoped session, the actor, an outbox emitter."""
from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy.orm import Session

from services.common.errors import Problem
from services.common.outbox import publish
from services.common.request_id import current_request_id
from services.common.service_auth import current_principal, require_customer, require_role
from services.common.sql import request_session

from ..db import act_as_customer, act_as_system
from ..domain.audit import Actor


def customer_session() -> tuple[Session, uuid.UUID]:
    """The signed-in customer's id and a session that sees only that customer's rows."""
    customer_id = _subject_id(require_customer())
    return act_as_customer(request_session(), customer_id), customer_id


def admin_session() -> tuple[Session, Actor]:
    principal = require_role("admin")
    actor = Actor(_subject_id(principal.subject) if principal.subject else None, "admin", current_request_id())
    return act_as_system(request_session()), actor


def _subject_id(subject: str) -> uuid.UUID:
    """Customers and admins are identified by UUIDs here; a token naming anything else
    identifies nobody this service knows (401, not a 500)."""
    try:
        return uuid.UUID(subject)
    except (ValueError, TypeError, AttributeError):
        raise Problem(401, "unauthorized", "The token's subject is not a customer of this bank.") from None


def system_session() -> Session:
    return act_as_system(request_session())


def customer_actor(customer_id: uuid.UUID) -> Actor:
    return Actor(customer_id, "customer", current_request_id())


def emitter(session: Session):
    app = current_app._get_current_object()
    return lambda event_type, data: publish(app, session, event_type, data)


def require_gateway() -> None:
    """Credential endpoints answer the gateway only, never another service."""
    if current_principal().caller != "gateway":
        raise Problem(403, "forbidden", "Only the gateway may call this endpoint.")
