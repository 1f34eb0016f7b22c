"""Scheduled and recurring transfers, and their runs.

1. scheduled_transfers: a customer's standing order from one of their accounts to an
   account of this bank or an IBAN, `once`, `daily`, `weekly` or `monthly` on a day
   (workflows/recurrence.py), from a start date to an optional end date; `active` <->
   `paused`, either -> `cancelled` (final), `active` -> `finished` (no date left). The
   amount may change; the rest of it never does (trigger scheduled_transfers_guard).
2. scheduled_runs: one row per (schedule, run date), claimed by the runner before it
   executes the run (primary key), so two runners or a run repeated move money once; a run
   is `posted` with its transfer or `failed` with its code, and is never retried or
   changed after (trigger scheduled_runs_guard).

Revision ID: transactions_0012
Revises: transactions_0011
Create Date: 2026-12-02
"""
from alembic import op

revision = "transactions_0012"
down_revision = "transactions_0011"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE scheduled_transfers (
    id               uuid PRIMARY KEY,
    customer_id      text NOT NULL,
    from_account_id  text NOT NULL REFERENCES ledger_accounts (id),
    to_account_id    text,
    to_iban          text CONSTRAINT schedule_iban_shape CHECK (to_iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$'),
    beneficiary_name text,
    amount           bigint NOT NULL CONSTRAINT schedule_amount_positive CHECK (amount > 0 AND amount < 10 ^ 15),
    currency         char(3) NOT NULL,
    description      text NOT NULL DEFAULT '' CONSTRAINT schedule_description_length
                         CHECK (char_length(description) <= 140),
    frequency        text NOT NULL CONSTRAINT schedule_frequency
                         CHECK (frequency IN ('once', 'daily', 'weekly', 'monthly')),
    start_date       date NOT NULL,
    end_date         date,
    day_of_month     smallint CONSTRAINT schedule_day_of_month CHECK (day_of_month BETWEEN 1 AND 31),
    status           text NOT NULL DEFAULT 'active' CONSTRAINT schedule_status
                         CHECK (status IN ('active', 'paused', 'finished', 'cancelled')),
    -- The next date to run (NULL once finished or cancelled); the runner's index.
    next_run_date    date,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedule_one_destination CHECK ((to_account_id IS NULL) <> (to_iban IS NULL)),
    CONSTRAINT schedule_iban_names_beneficiary CHECK (to_iban IS NULL OR beneficiary_name IS NOT NULL),
    CONSTRAINT schedule_ends_after_start CHECK (end_date IS NULL OR end_date >= start_date),
    CONSTRAINT schedule_monthly_day CHECK ((frequency = 'monthly') = (day_of_month IS NOT NULL)),
    CONSTRAINT schedule_next_while_open CHECK (status IN ('finished', 'cancelled') OR next_run_date IS NOT NULL)
);
CREATE INDEX ix_scheduled_transfers_due ON scheduled_transfers (next_run_date) WHERE status = 'active';
CREATE INDEX ix_scheduled_transfers_customer ON scheduled_transfers (customer_id, created_at DESC, id DESC);

CREATE FUNCTION scheduled_transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a schedule is cancelled, never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.customer_id, NEW.from_account_id, NEW.to_account_id, NEW.to_iban, NEW.beneficiary_name,
        NEW.currency, NEW.frequency, NEW.start_date, NEW.end_date, NEW.day_of_month, NEW.created_at)
        IS DISTINCT FROM (OLD.id, OLD.customer_id, OLD.from_account_id, OLD.to_account_id, OLD.to_iban,
                          OLD.beneficiary_name, OLD.currency, OLD.frequency, OLD.start_date, OLD.end_date,
                          OLD.day_of_month, OLD.created_at) THEN
        RAISE EXCEPTION 'only the amount and the status of a schedule change'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'schedule_change';
    END IF;
    IF OLD.status IN ('finished', 'cancelled') AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'schedule %: % is final', OLD.id, OLD.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'schedule_change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER scheduled_transfers_guard BEFORE UPDATE OR DELETE ON scheduled_transfers
    FOR EACH ROW EXECUTE FUNCTION scheduled_transfers_guard();

CREATE TABLE scheduled_runs (
    schedule_id  uuid NOT NULL REFERENCES scheduled_transfers (id),
    run_date     date NOT NULL,
    status       text NOT NULL CONSTRAINT run_status CHECK (status IN ('posted', 'failed')),
    transfer_id  uuid REFERENCES journal_entries (id) DEFERRABLE INITIALLY DEFERRED,
    error_code   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, run_date),
    CONSTRAINT run_outcome CHECK ((status = 'posted') = (transfer_id IS NOT NULL)
                                  AND (status = 'failed') = (error_code IS NOT NULL))
);
CREATE TRIGGER scheduled_runs_append_only BEFORE UPDATE OR DELETE ON scheduled_runs
    FOR EACH ROW EXECUTE FUNCTION books_refuse_change();
"""

DOWNGRADE = r"""
DROP TABLE scheduled_runs;
DROP TABLE scheduled_transfers;
DROP FUNCTION scheduled_transfers_guard();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
