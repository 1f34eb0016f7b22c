"""Operator commands for the accounts service.

    python -m services.accounts.cli create-admin --email admin@example.com --password '...'
        (defaults: FINOVA_ADMIN_EMAIL, FINOVA_ADMIN_PASSWORD; idempotent: the admin this
        command made before gets this password, and a changed password ends its sessions;
        it refuses, exit 2, an email that belongs to a self-registered customer login)
    python -m services.accounts.cli revoke-admin --email admin@example.com
        (takes the admin role away and revokes every session of that login)
    python -m services.accounts.cli rotate-pii-keys
        (re-encrypts phone and national id under the first key of PII_ENCRYPTION_KEYS)
    python -m services.accounts.cli relay-outbox
        (delivers due outbox rows once to TRANSACTIONS_URL / PREFERENCES_URL; needs
        INTERNAL_TOKEN_SECRET; exits 0 when none is left waiting)
    python -m services.accounts.cli purge
        (deletes, in batches, delivered outbox rows and processed events older than
        OUTBOX_RETENTION_DAYS, default 30; this service keeps no idempotency keys)

Both use DATABASE_URL (the app role is enough: they act as the system under row-level security).
"""
from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import or_, select
from sqlalchemy.orm import sessionmaker

from services.common.config import ConfigError, load_settings
from services.common.outbox_cli import relay_outbox
from services.common.retention import outbox_targets, purge_command
from services.common.sql import make_engine, session_scope

from .app import SETTINGS
from .db import act_as_system, install_rls_scoping
from .domain.customers import AdminRefused, ensure_admin, revoke_admin
from .domain.errors import WeakPassword
from .events import EVENT_ROUTES
from .models import Customer, outbox_events, processed_events
from .pii import FieldCipher


def _sessions(settings: dict) -> sessionmaker:
    factory = sessionmaker(make_engine(settings["DATABASE_URL"], "accounts-cli", pool_size=1),
                           expire_on_commit=False)
    install_rls_scoping(factory)
    return factory


def create_admin(settings: dict, email: str, password: str, full_name: str) -> int:
    try:
        with session_scope(_sessions(settings)) as session:
            customer, created = ensure_admin(act_as_system(session), email, password, full_name)
    except WeakPassword as exc:
        print(f"refused: {exc.detail}", file=sys.stderr)
        return 2
    except AdminRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"admin {email} {'created' if created else 'updated'} (id {customer.id})")
    return 0


def take_admin_away(settings: dict, email: str) -> int:
    try:
        with session_scope(_sessions(settings)) as session:
            customer = revoke_admin(act_as_system(session), email)
    except AdminRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"{email} is no longer an admin (id {customer.id}); its sessions are revoked")
    return 0


def rotate_pii_keys(settings: dict, batch: int = 500) -> int:
    cipher = FieldCipher(settings["PII_ENCRYPTION_KEYS"])
    stale = or_(Customer.phone_encrypted.not_like(f"{cipher.current_id}:%"),
                Customer.national_id_encrypted.not_like(f"{cipher.current_id}:%"))
    rotated = 0
    factory = _sessions(settings)
    while True:
        with session_scope(factory) as session:
            act_as_system(session)
            rows = list(session.scalars(select(Customer).where(stale).limit(batch)
                                        .with_for_update(skip_locked=True)))
            for customer in rows:
                customer.phone_encrypted = cipher.rotate(customer.phone_encrypted)
                customer.national_id_encrypted = cipher.rotate(customer.national_id_encrypted)
        rotated += len(rows)
        if len(rows) < batch:
            break
    print(f"re-encrypted {rotated} customer(s) under key {cipher.current_id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.accounts.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create or update an admin login")
    admin.add_argument("--email", default=os.environ.get("FINOVA_ADMIN_EMAIL"))
    admin.add_argument("--password", default=os.environ.get("FINOVA_ADMIN_PASSWORD"))
    admin.add_argument("--full-name", default="Administrator")
    revoke = commands.add_parser("revoke-admin", help="take the admin role away and end its sessions")
    revoke.add_argument("--email", required=True)
    commands.add_parser("rotate-pii-keys", help="re-encrypt personal data under the current key")
    commands.add_parser("relay-outbox", help="deliver due outbox events once, then exit")
    commands.add_parser("purge", help="delete delivered outbox rows and processed events past retention")
    args = parser.parse_args(argv)
    if args.command == "relay-outbox":
        return relay_outbox("accounts", outbox_events, EVENT_ROUTES,
                            {"transactions": "http://127.0.0.1:8082", "preferences": "http://127.0.0.1:8083"})
    if args.command == "purge":
        return purge_command("accounts", lambda settings: outbox_targets(
            outbox_events, processed_events, settings["OUTBOX_RETENTION_DAYS"]))
    wanted = ["DATABASE_URL"] + (["PII_ENCRYPTION_KEYS"] if args.command == "rotate-pii-keys" else [])
    try:
        settings = load_settings([s for s in SETTINGS if s.name in wanted])
    except ConfigError as exc:
        parser.error(str(exc))
    if args.command == "create-admin":
        if not args.email or not args.password:
            parser.error("--email and --password (or FINOVA_ADMIN_EMAIL and FINOVA_ADMIN_PASSWORD) are required")
        return create_admin(settings, args.email, args.password, args.full_name)
    if args.command == "revoke-admin":
        return take_admin_away(settings, args.email)
    return rotate_pii_keys(settings)


if __name__ == "__main__":
    sys.exit(main())
