"""Bills, and reward points.

1. bills: a customer's bill from a biller (name, IBAN), amount due, currency, due date,
   the account it is paid from, autopay, reminder days. Never deleted (a customer's delete
   sets deleted_at); once paid (paid_transfer_id) it stays paid and its terms never change
   again; a deleted bill is never paid; each reminder and the overdue notice are sent once
   (their timestamps are set once) (trigger bills_guard).
2. reward_items: the points ledger, append-only; reward_balances: each customer's balance,
   kept by trigger as the sum of their items and never negative (CHECK), written only by
   that trigger. One earning per transfer (unique).
3. journal_entries.kind gains `rewards_redemption` (the bank's rewards account pays the
   customer for redeemed points).

Revision ID: transactions_0013
Revises: transactions_0012
Create Date: 2026-12-02
"""
from alembic import op

revision = "transactions_0013"
down_revision = "transactions_0012"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE bills (
    id                   uuid PRIMARY KEY,
    customer_id          text NOT NULL,
    biller_name          text NOT NULL CONSTRAINT bill_biller_name CHECK (char_length(biller_name) BETWEEN 1 AND 140),
    biller_iban          text NOT NULL CONSTRAINT bill_iban_shape CHECK (biller_iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$'),
    amount_due           bigint NOT NULL CONSTRAINT bill_amount_positive CHECK (amount_due > 0 AND amount_due < 10 ^ 15),
    currency             char(3) NOT NULL,
    due_date             date NOT NULL,
    pay_from_account_id  text NOT NULL REFERENCES ledger_accounts (id),
    autopay              boolean NOT NULL DEFAULT false,
    reminder_days_before smallint NOT NULL DEFAULT 3
                             CONSTRAINT bill_reminder_days CHECK (reminder_days_before BETWEEN 0 AND 60),
    paid_transfer_id     uuid REFERENCES journal_entries (id) DEFERRABLE INITIALLY DEFERRED,
    paid_at              timestamptz,
    reminded_at          timestamptz,
    overdue_notified_at  timestamptz,
    -- Autopay tries once a day: the last day it tried and what refused it.
    last_attempt_date    date,
    last_error           text,
    deleted_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bill_paid_with_time CHECK ((paid_transfer_id IS NULL) = (paid_at IS NULL)),
    CONSTRAINT bill_paid_or_deleted CHECK (paid_transfer_id IS NULL OR deleted_at IS NULL)
);
CREATE INDEX ix_bills_customer ON bills (customer_id, due_date, id) WHERE deleted_at IS NULL;
-- The runner's work: unpaid bills by due date.
CREATE INDEX ix_bills_unpaid ON bills (due_date) WHERE paid_transfer_id IS NULL AND deleted_at IS NULL;

CREATE FUNCTION bills_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a bill is deleted by deleted_at, never removed' USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.customer_id, NEW.created_at) IS DISTINCT FROM (OLD.id, OLD.customer_id, OLD.created_at)
       OR (OLD.paid_transfer_id IS NOT NULL AND (NEW.paid_transfer_id, NEW.paid_at, NEW.biller_name, NEW.biller_iban,
               NEW.amount_due, NEW.currency, NEW.due_date, NEW.pay_from_account_id)
           IS DISTINCT FROM (OLD.paid_transfer_id, OLD.paid_at, OLD.biller_name, OLD.biller_iban,
               OLD.amount_due, OLD.currency, OLD.due_date, OLD.pay_from_account_id))
       OR (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS DISTINCT FROM OLD.deleted_at)
       OR (OLD.reminded_at IS NOT NULL AND NEW.reminded_at IS DISTINCT FROM OLD.reminded_at)
       OR (OLD.overdue_notified_at IS NOT NULL AND NEW.overdue_notified_at IS DISTINCT FROM OLD.overdue_notified_at)
    THEN
        RAISE EXCEPTION 'bill %: a paid bill stays paid, a deleted one deleted, a notice is sent once', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'bill_change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bills_guard BEFORE UPDATE OR DELETE ON bills FOR EACH ROW EXECUTE FUNCTION bills_guard();

CREATE TABLE reward_items (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id text NOT NULL,
    points      bigint NOT NULL CONSTRAINT reward_points_nonzero CHECK (points <> 0 AND abs(points) < 10 ^ 15),
    reason      text NOT NULL CONSTRAINT reward_reason
                    CHECK (reason IN ('card_spending', 'spending_reversed', 'redeemed')),
    transfer_id uuid REFERENCES journal_entries (id) DEFERRABLE INITIALLY DEFERRED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reward_sign CHECK ((reason = 'card_spending') = (points > 0))
);
CREATE INDEX ix_reward_items_customer ON reward_items (customer_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX ux_reward_items_transfer ON reward_items (transfer_id, reason) WHERE transfer_id IS NOT NULL;
CREATE TRIGGER reward_items_append_only BEFORE UPDATE OR DELETE ON reward_items
    FOR EACH ROW EXECUTE FUNCTION books_refuse_change();

CREATE TABLE reward_balances (
    customer_id text PRIMARY KEY,
    points      bigint NOT NULL CONSTRAINT reward_balance_not_negative CHECK (points >= 0)
);

CREATE FUNCTION reward_items_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- UPDATE first: an INSERT's CHECK sees the proposed row (a negative item alone) before
    -- ON CONFLICT would add it to the balance.
    UPDATE reward_balances SET points = points + NEW.points WHERE customer_id = NEW.customer_id;
    IF NOT FOUND THEN
        INSERT INTO reward_balances (customer_id, points) VALUES (NEW.customer_id, NEW.points)
            ON CONFLICT (customer_id) DO UPDATE SET points = reward_balances.points + EXCLUDED.points;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER reward_items_add AFTER INSERT ON reward_items FOR EACH ROW EXECUTE FUNCTION reward_items_add();

-- The balance is the items' sum: only the items' trigger writes it.
CREATE FUNCTION reward_balances_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'reward balances move only with reward items' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER reward_balances_guard BEFORE INSERT OR UPDATE OR DELETE ON reward_balances
    FOR EACH ROW EXECUTE FUNCTION reward_balances_guard();

ALTER TABLE journal_entries
    DROP CONSTRAINT journal_entry_kind,
    ADD CONSTRAINT journal_entry_kind CHECK (kind IN ('transfer', 'deposit', 'reversal', 'card_capture',
                                                      'external_transfer', 'external_settlement',
                                                      'rewards_redemption'));
"""

DOWNGRADE = r"""
ALTER TABLE journal_entries
    DROP CONSTRAINT journal_entry_kind,
    ADD CONSTRAINT journal_entry_kind CHECK (kind IN ('transfer', 'deposit', 'reversal', 'card_capture',
                                                      'external_transfer', 'external_settlement'));
DROP TABLE reward_balances;
DROP FUNCTION reward_balances_guard();
DROP TABLE reward_items;
DROP FUNCTION reward_items_add();
DROP TABLE bills;
DROP FUNCTION bills_guard();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
