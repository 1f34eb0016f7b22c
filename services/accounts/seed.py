"""Demo data for the accounts service: customers and their bank accounts at the bank's scale.

`make seed` (devstack/seed.py) runs `seed_customers_and_accounts` against the accounts
database as its owner role, in one transaction, then the ledger's own seed
(services/transactions/seed.py) against the transactions database.

What is real and what is shortcut:
- Every demo customer has the same password, hashed ONCE: argon2id costs tens of
  milliseconds by design, so 25,000 hashes would take minutes. The hash is an ordinary
  argon2id hash, so each demo customer logs in through the normal login path.
- Phone and national id go through the service's column encryption (pii.FieldCipher), and
  account numbers come from the service's own generator (numbers.account_number) fed
  from account_number_seq, so accounts opened later through the API never collide.
- Rows are written with COPY. The owner role owns the tables, so row-level security does
  not apply to it (COPY FROM refuses tables whose policies apply to the caller).

How the ledger hears of the accounts: normally each opening travels as an account.opened
event over the outbox. Here no outbox rows are written: 25,000+ events would keep the relay
busy for minutes after the seed, and the ledger seed must create the ledger accounts in the
same transaction as their history anyway. Instead this seed writes a manifest, a CSV file
whose columns are MANIFEST_FIELDS: the account's snapshot as account.opened carries it
(account_id, customer_id, currency, type, overdraft_limit, status, then opened_at, the
account's `version`) and its customer's KYC state (`kyc_status`, `customer_version`), so
the ledger starts with the versions the accounts service holds and knows who may move
money to others. The ledger seed reads it; nothing else in the suite does.

Demo customers are all KYC-verified (the demo moves money between customers), and their
credit cards carry a demo credit line (DEMO_CREDIT_LINE), as if an admin had granted it:
accounts opened through the API start at 0.
"""
from __future__ import annotations

import csv
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from services.common.amounts import format_amount

from .account_types import OPENING_OVERDRAFT_LIMIT
from .domain import audit
from .models import Customer
from .numbers import DEFAULT_SORT_CODE, account_number
from .passwords import check_strength, hash_password
from .pii import FieldCipher

DEMO_DOMAIN = "demo.finovabank.example"  # .example is reserved: no real mailbox gets mail
DEMO_PASSWORD = "Finova-Demo-2026!"
MANIFEST_FIELDS = ("account_id", "customer_id", "currency", "type", "overdraft_limit", "status",
                   "opened_at", "version", "kyc_status", "customer_version", "number")
# Seeded rows are version 1 on both sides: nothing has changed since they were written.
SEEDED_VERSION = 1
DEMO_KYC_STATUS = "verified"
DEMO_CREDIT_LINE = {"credit_card": Decimal("1000")}

# Home currency of a customer (all their accounts), weighted: most demo customers bank in EUR.
CURRENCIES = (("EUR", 80), ("GBP", 15), ("USD", 5))
# Every customer has a checking account; some also a savings account or a credit card.
EXTRA_ACCOUNTS = (("savings", 0.45, "Rainy day"), ("credit_card", 0.25, None))
FIRST_NAMES = ("Ada", "Alan", "Amara", "Ben", "Carla", "Chen", "Dara", "Elena", "Emil", "Fatima",
               "Grace", "Hugo", "Ines", "Ivan", "Jonas", "Julia", "Kai", "Lena", "Luca", "Maya",
               "Mei", "Nadia", "Noah", "Olga", "Omar", "Paula", "Priya", "Rafael", "Sara", "Sven",
               "Tariq", "Theo", "Una", "Victor", "Wen", "Yara", "Yusuf", "Zoe")
LAST_NAMES = ("Almeida", "Baker", "Becker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen",
              "Ibrahim", "Jansen", "Kowalski", "Larsen", "Lopez", "Martin", "Meyer", "Moreau", "Novak",
              "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt", "Silva", "Tanaka", "Ulrich", "Varga",
              "Weber", "Wong", "Yilmaz", "Zhang")


class AlreadySeeded(RuntimeError):
    """Demo customers exist already; seeding again would duplicate them (`make clean` first)."""


@dataclass(frozen=True)
class AccountsSeed:
    customers: int
    accounts: int
    demo_email: str
    demo_password: str
    manifest: Path


def demo_email(number: int) -> str:
    return f"customer{number:05d}@{DEMO_DOMAIN}"


def seed_customers_and_accounts(session: Session, cipher: FieldCipher, customers: int, manifest: Path, *,
                                password: str = DEMO_PASSWORD, sort_code: str = DEFAULT_SORT_CODE,
                                random_seed: int = 8, now: datetime | None = None) -> AccountsSeed:
    """Write `customers` demo customers and their accounts in the session's transaction (owner role).

    Writes the manifest for the ledger seed. The caller commits.
    """
    check_strength(password)
    if session.scalar(select(func.count()).select_from(Customer)
                      .where(Customer.email.like(f"%@{DEMO_DOMAIN}"))):
        raise AlreadySeeded(f"demo customers (@{DEMO_DOMAIN}) exist already")
    rng = random.Random(random_seed)
    now = now or datetime.now(timezone.utc)
    password_hash = hash_password(password)  # once: see the module docstring
    customer_rows, account_rows = [], []
    for number in range(1, customers + 1):
        customer, accounts = _plan_customer(rng, cipher, number, password_hash, now)
        customer_rows.append(customer)
        account_rows.extend(accounts)
    numbers = _account_numbers(session, len(account_rows), sort_code)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy("COPY customers (id, email, full_name, phone_encrypted, national_id_encrypted, "
                         "kyc_status, password_hash, roles, created_at, updated_at, version) FROM STDIN") as copy:
            for row in customer_rows:
                copy.write_row((*row, SEEDED_VERSION))
        with cursor.copy("COPY bank_accounts (id, customer_id, number, type, currency, nickname, status, "
                         "overdraft_limit, version, created_at, updated_at) FROM STDIN") as copy:
            for row, number in zip(account_rows, numbers):
                account_id, customer_id, type_, currency, nickname, overdraft, opened_at = row
                copy.write_row((account_id, customer_id, number, type_, currency, nickname, "active",
                                overdraft, SEEDED_VERSION, opened_at, opened_at))
    _write_manifest(manifest, account_rows, numbers)
    audit.record(session, audit.SYSTEM, "demo_data.seeded", "seed", "accounts", None,
                 after={"customers": customers, "accounts": len(account_rows)})
    session.flush()
    return AccountsSeed(customers, len(account_rows), demo_email(1), password, manifest)


def _account_numbers(session: Session, count: int, sort_code: str) -> list[str]:
    """`count` IBANs from the service's generator, with the sequence values reserved in one query.

    next_account_number asks the sequence once per call (40,000 round trips took ~15 s), so
    the serials are reserved here at once and formatted by numbers.account_number.
    """
    serials = session.execute(text("SELECT nextval('account_number_seq') FROM generate_series(1, :n)"),
                              {"n": count}).scalars().all()
    return [account_number(serial, sort_code) for serial in serials]


def _plan_customer(rng: random.Random, cipher: FieldCipher, number: int, password_hash: str,
                   now: datetime) -> tuple[tuple, list[tuple]]:
    """One customer row and their account rows, all opened one to three years ago."""
    customer_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    joined = now - timedelta(days=365 + rng.uniform(30, 1095))
    full_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    phone = f"+447700{rng.randrange(10**6):06d}"
    # QQ-prefixed national insurance numbers are the documented examples, never issued.
    national_id = f"QQ{rng.randrange(10**6):06d}{rng.choice('ABCD')}"
    customer = (customer_id, demo_email(number), full_name, cipher.encrypt(phone),
                cipher.encrypt(national_id), DEMO_KYC_STATUS, password_hash, ["customer"], joined, joined)
    currency = rng.choices([c for c, _ in CURRENCIES], [w for _, w in CURRENCIES])[0]
    wanted = [("checking", "Everyday")] + [(type_, nickname) for type_, share, nickname in EXTRA_ACCOUNTS
                                           if rng.random() < share]
    accounts = []
    for type_, nickname in wanted:
        opened = joined + timedelta(days=rng.uniform(0, 29))
        accounts.append((uuid.UUID(int=rng.getrandbits(128), version=4), customer_id, type_, currency,
                         nickname, DEMO_CREDIT_LINE.get(type_, OPENING_OVERDRAFT_LIMIT), opened))
    return customer, accounts


def _write_manifest(path: Path, account_rows: list[tuple], numbers: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_FIELDS)
        for row, number in zip(account_rows, numbers):
            account_id, customer_id, type_, currency, _nickname, overdraft, opened_at = row
            writer.writerow((account_id, customer_id, currency, type_,
                             format_amount(Decimal(overdraft), currency), "active", opened_at.isoformat(),
                             SEEDED_VERSION, DEMO_KYC_STATUS, SEEDED_VERSION, number))
