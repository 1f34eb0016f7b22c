"""Customers: registration, reading one, and admins made from the CLI."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Customer
from ..passwords import check_strength, hash_password
from ..pii import FieldCipher
from . import audit
from .errors import EmailTaken, NotFound


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


def ensure_admin(session: Session, email: str, password: str, full_name: str = "Administrator") -> tuple[Customer, bool]:
    """Create the admin, or give an existing login the admin role and this password.

    Idempotent, so `make up` can run it every time. Returns (customer, created).
    """
    check_strength(password, email)
    customer = find_by_email(session, email)
    created = customer is None
    if created:
        customer = Customer(id=uuid.uuid4(), email=email.strip(), full_name=full_name,
                            kyc_status="verified", password_hash=hash_password(password), roles=["admin"])
        session.add(customer)
        before = None
    else:
        before = {"roles": list(customer.roles)}
        customer.password_hash = hash_password(password)
        customer.roles = sorted(set(customer.roles) | {"admin"})
        customer.updated_at = datetime.now(timezone.utc)
    session.flush()
    audit.record(session, audit.SYSTEM, "admin.created" if created else "admin.updated", "customer",
                 customer.id, customer.id, before=before, after={"roles": list(customer.roles)})
    return customer, created
