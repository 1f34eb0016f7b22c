"""The transactions service's tables (its own PostgreSQL database).

The schema, with its triggers and constraints, is created by Alembic
(database/migrations/transactions); these Core tables are how the code names it.
Money columns are BIGINT minor units of the row's currency.
"""
from sqlalchemy import (BigInteger, Boolean, CHAR, Column, Date, DateTime, Integer, Numeric, SmallInteger, Table, Text,
                        func)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

from services.common.outbox import outbox_table, processed_events_table


class Base(DeclarativeBase):
    pass


metadata = Base.metadata
outbox_events = outbox_table(metadata)
processed_events = processed_events_table(metadata)

ledger_accounts = Table(
    "ledger_accounts", metadata,
    Column("id", Text, primary_key=True),
    Column("customer_id", Text),
    Column("kind", Text, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("overdraft_limit", BigInteger, nullable=False, server_default="0"),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("held", BigInteger, nullable=False, server_default="0"),
    Column("may_go_negative", Boolean, nullable=False, server_default="false"),
    # The accounts service's version of the account (bumped there with every change): a
    # snapshot applies when its version is >= this one (domain/ledger/account_sync.py).
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Migration 0010: the account's number (an IBAN of this bank) and type, from its snapshot.
    Column("iban", Text),
    Column("account_type", Text),
)

# Each customer's KYC status as the accounts service last told it; no row = not verified.
ledger_customers = Table(
    "ledger_customers", metadata,
    Column("customer_id", Text, primary_key=True),
    Column("kyc_status", Text, nullable=False),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

journal_entries = Table(
    "journal_entries", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="posted"),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("category", Text),
    Column("from_account_id", Text, nullable=False),
    Column("to_account_id", Text, nullable=False),
    Column("initiated_by", Text),
    Column("reverses_entry_id", UUID(as_uuid=True)),
    Column("request_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
    # Migration 0008: the fee on top of `amount` (source currency) and, when the target
    # receives something else (a conversion), what it receives and at which rate.
    Column("fee", BigInteger, nullable=False, server_default="0"),
    Column("to_amount", BigInteger),
    Column("to_currency", CHAR(3)),
    Column("fx_rate", Numeric(22, 12)),
    Column("merchant", Text),  # migration 0010
)

postings = Table(
    "postings", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("entry_id", UUID(as_uuid=True), nullable=False),
    Column("account_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("category", Text),
    Column("categorized_by", Text),  # migration 0016: request, rule or default
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("scope", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("status_code", Integer),
    Column("response_body", JSONB),
    Column("resource_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Card authorisations (migration 0008): `ledger_accounts.held` is the sum of the active ones.
holds = Table(
    "holds", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("captured_amount", BigInteger, nullable=False, server_default="0"),
    Column("description", Text, nullable=False, server_default=""),
    Column("merchant", Text, nullable=False, server_default=""),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("capture_entry_id", UUID(as_uuid=True)),
    Column("created_by", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# External transfers (migration 0010): the beneficiary and the state of an
# `external_transfer` entry, pending -> posted (settled) | returned (reversed).
external_transfers = Table(
    "external_transfers", metadata,
    Column("entry_id", UUID(as_uuid=True), primary_key=True),
    Column("iban", Text, nullable=False),
    Column("beneficiary_name", Text, nullable=False),
    Column("country", CHAR(2), nullable=False),
    Column("bic", Text),
    Column("bank_name", Text),
    Column("international", Boolean, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("settlement_entry_id", UUID(as_uuid=True)),
    Column("return_entry_id", UUID(as_uuid=True)),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Scheduled transfers (migration 0012): a customer's standing orders and each run of them,
# one row per (schedule, run date), claimed before the run moves money.
scheduled_transfers = Table(
    "scheduled_transfers", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("from_account_id", Text, nullable=False),
    Column("to_account_id", Text),
    Column("to_iban", Text),
    Column("beneficiary_name", Text),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("frequency", Text, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("day_of_month", SmallInteger),
    Column("status", Text, nullable=False, server_default="active"),
    Column("next_run_date", Date),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

scheduled_runs = Table(
    "scheduled_runs", metadata,
    Column("schedule_id", UUID(as_uuid=True), primary_key=True),
    Column("run_date", Date, primary_key=True),
    Column("status", Text, nullable=False),
    Column("transfer_id", UUID(as_uuid=True)),
    Column("error_code", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Bills (migration 0013): a customer's bill, paid to the biller's IBAN, by hand or autopay.
bills = Table(
    "bills", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("biller_name", Text, nullable=False),
    Column("biller_iban", Text, nullable=False),
    Column("amount_due", BigInteger, nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("pay_from_account_id", Text, nullable=False),
    Column("autopay", Boolean, nullable=False, server_default="false"),
    Column("reminder_days_before", SmallInteger, nullable=False, server_default="3"),
    Column("paid_transfer_id", UUID(as_uuid=True)),
    Column("paid_at", DateTime(timezone=True)),
    Column("reminded_at", DateTime(timezone=True)),
    Column("overdue_notified_at", DateTime(timezone=True)),
    Column("last_attempt_date", Date),
    Column("last_error", Text),
    Column("deleted_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Reward points (migration 0013): an append-only ledger of items and each customer's balance,
# the items' sum, kept by trigger.
reward_items = Table(
    "reward_items", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("transfer_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reward_balances = Table(
    "reward_balances", metadata,
    Column("customer_id", Text, primary_key=True),
    Column("points", BigInteger, nullable=False),
)

# The category master (migration 0014).
categories = Table(
    "categories", metadata,
    Column("slug", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("icon", Text, nullable=False),
    Column("color", Text, nullable=False),
    Column("position", SmallInteger, nullable=False),
)


# Migration 0016: a customer's re-categorisation of a statement line (the posting never changes).
line_categories = Table(
    "line_categories", metadata,
    Column("posting_id", BigInteger, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
