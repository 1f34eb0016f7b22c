"""Customers: registration, reading and listing, KYC decisions, and admins made from the CLI."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Customer, RefreshToken
from ..passwords import check_strength, hash_password, verify_password
from ..pii import FieldCipher
from . import audit
from .errors import EmailTaken, NotFound

KYC_DECISIONS = ("verified", "rejected")


class AdminRefused(Exception):
    """create-admin will not turn this login into an admin; the message says why."""


def find_by_email(session: Session, email: str) -> Customer | None:
    return session.scalars(select(Customer).where(func.lower(Customer.email) == email.strip().lower())).first()


def register_customer(session: Session, cipher: FieldCipher, actor: audit.Actor, *, email: str,
                      password: str, full_name: str, phone: str | None = None,
                      national_id: str | None = None) -> Customer:
    """Create a customer; the unique index on lower(email) settles concurrent duplicates."""
    email = email.strip()
    check_strength(password, email)
    if find_by_email(session, email) is not None:
        raise EmailTaken()
    customer = Customer(id=uuid.uuid4(), email=email, full_name=full_name.strip(),
                        phone_encrypted=cipher.encrypt(phone),
                        national_id_encrypted=cipher.encrypt(national_id),
                        kyc_status="unverified", password_hash=hash_password(password), roles=["customer"])
    session.add(customer)
    try:
        session.flush()
    except IntegrityError:
        raise EmailTaken() from None
    audit.record(session, audit.Actor(customer.id, "customer", actor.request_id), "customer.registered",
                 "customer", customer.id, customer.id, after={"email": email, "kyc_status": "unverified"})
    return customer


def get_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer")
    return customer


def list_customers(session: Session, limit: int, email: str | None = None, kyc_status: str | None = None,
                   after: tuple[datetime, uuid.UUID] | None = None) -> tuple[list[Customer], Customer | None]:
    """A page of customers, oldest first; `email` matches exactly, whatever its case."""
    query = select(Customer).order_by(Customer.created_at, Customer.id).limit(limit + 1)
    if email is not None:
        query = query.where(func.lower(Customer.email) == email.lower())
    if kyc_status is not None:
        query = query.where(Customer.kyc_status == kyc_status)
    if after is not None:
        query = query.where(tuple_(Customer.created_at, Customer.id) > tuple_(*after))
    rows = list(session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1]
    return rows, None


def decide_kyc(session: Session, ledger, customer_id: str, status: str, note: str | None,
               actor: audit.Actor, emit: Callable[[str, dict], None]) -> Customer:
    """An admin's KYC decision: in force in the ledger before this commits (interface 2).

    The customer row is locked, changed with its version bumped and flushed, then put to the
    ledger; only when the ledger has it are the audit entry and customer.kyc_changed added
    and the caller commits (a refusal rolls everything back). The same decision again is a
    no-op.
    """
    try:
        key = uuid.UUID(customer_id)
    except ValueError:
        raise NotFound("customer") from None
    customer = session.get(Customer, key, with_for_update=True)
    if customer is None:
        raise NotFound("customer")
    if customer.kyc_status == status:
        return customer
    before = {"kyc_status": customer.kyc_status}
    customer.kyc_status = status
    customer.version += 1
    customer.updated_at = datetime.now(timezone.utc)
    session.flush()  # the database's checks first; a refused row never reaches the ledger
    ledger.put_customer(str(customer.id), status, customer.version)
    emit("customer.kyc_changed", {"customer_id": str(customer.id), "kyc_status": status,
                                  "version": customer.version})
    audit.record(session, actor, f"customer.kyc_{status}", "customer", customer.id, customer.id,
                 before=before, after={"kyc_status": status, "note": note})
    return customer


def set_roles(session: Session, customer: Customer, roles: list[str], actor: audit.Actor = audit.SYSTEM,
              now: datetime | None = None) -> int:
    """Change a customer's roles and revoke every refresh family they have; returns how many
    tokens were revoked. A session signed in with the old roles must not live on.

    (An access token already issued keeps its roles until it expires, 15 minutes at most.)
    """
    now = now or datetime.now(timezone.utc)
    before = sorted(customer.roles)
    customer.roles = sorted(set(roles))
    customer.updated_at = now
    revoked = revoke_all_sessions(session, customer.id, now)
    audit.record(session, actor, "customer.roles_changed", "customer", customer.id, customer.id,
                 before={"roles": before}, after={"roles": list(customer.roles), "sessions_revoked": revoked})
    return revoked


def revoke_all_sessions(session: Session, customer_id: uuid.UUID, now: datetime | None = None) -> int:
    result = session.execute(update(RefreshToken)
                             .where(RefreshToken.customer_id == customer_id, RefreshToken.revoked_at.is_(None))
                             .values(revoked_at=now or datetime.now(timezone.utc)))
    return result.rowcount


def ensure_admin(session: Session, email: str, password: str, full_name: str = "Administrator") -> tuple[Customer, bool]:
    """Create the admin identity, or update the one this command made before.

    Idempotent, so `make up` can run it every time: an existing admin keeps its id; a new
    password replaces the old one and ends every session. It never promotes a login that a
    customer registered themselves (AdminRefused): whoever registered that email would
    become an admin. Returns (customer, created).
    """
    check_strength(password, email)
    customer = find_by_email(session, email)
    if customer is not None and customer.roles != ["admin"]:
        raise AdminRefused(
            f"{email.strip()} is a customer login (roles: {', '.join(customer.roles) or 'none'}), not an "
            "identity this command created; it never promotes a self-registered login. Choose another "
            "email for the admin.")
    created = customer is None
    if created:
        customer = Customer(id=uuid.uuid4(), email=email.strip(), full_name=full_name,
                            kyc_status="verified", password_hash=hash_password(password), roles=["admin"])
        session.add(customer)
        session.flush()
        audit.record(session, audit.SYSTEM, "admin.created", "customer", customer.id, customer.id,
                     after={"roles": list(customer.roles)})
    elif not verify_password(customer.password_hash, password):
        customer.password_hash = hash_password(password)
        customer.updated_at = datetime.now(timezone.utc)
        revoked = revoke_all_sessions(session, customer.id)
        audit.record(session, audit.SYSTEM, "admin.updated", "customer", customer.id, customer.id,
                     after={"password_changed": True, "sessions_revoked": revoked})
    session.flush()
    return customer, created


def revoke_admin(session: Session, email: str) -> Customer:
    """Take the admin role away (e.g. from a login an older create-admin promoted); every
    session of that login is revoked."""
    customer = find_by_email(session, email)
    if customer is None or "admin" not in customer.roles:
        raise AdminRefused(f"{email.strip()} is not an admin.")
    set_roles(session, customer, [role for role in customer.roles if role != "admin"])
    session.flush()
    return customer
