"""Holds (card authorisations) that the database keeps in step with `ledger_accounts.held`.

1. holds: one row per authorisation, `active` -> `captured` | `released` | `expired` and
   nothing else (trigger holds_guard, constraint holds_state_change); amount, account,
   currency and expiry never change; captured_amount <= amount (CHECK); a hold is created
   only active, on an active account, in its currency; holds are never deleted.
2. `ledger_accounts.held` is the sum of the account's active holds, always: every change of
   a hold recomputes it (AFTER trigger holds_sync_held), and any other change of `held` (a
   stray `UPDATE ledger_accounts SET held = 0`) is refused (constraint held_matches_holds).
   With the CHECK balance_within_overdraft (0005), a hold past the available balance cannot
   exist. An active hold past its expires_at still counts in `held` until it is expired
   (lazily, under the account's lock, by the next write on the account, or by the
   `expire-holds` command); reads leave those out (ledger/accounts.py, ledger/holds.py).

Revision ID: transactions_0009
Revises: transactions_0008
Create Date: 2026-12-01
"""
from alembic import op

revision = "transactions_0009"
down_revision = "transactions_0008"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE holds (
    id               uuid PRIMARY KEY,
    account_id       text NOT NULL REFERENCES ledger_accounts (id),
    amount           bigint NOT NULL CONSTRAINT hold_amount_positive CHECK (amount > 0),
    currency         char(3) NOT NULL,
    status           text NOT NULL DEFAULT 'active' CONSTRAINT hold_status
                         CHECK (status IN ('active', 'captured', 'released', 'expired')),
    captured_amount  bigint NOT NULL DEFAULT 0,
    description      text NOT NULL DEFAULT '',
    merchant         text NOT NULL DEFAULT '',
    expires_at       timestamptz NOT NULL,
    -- Deferred: a capture marks the hold (releasing `held`) before its entry is written, so
    -- the balance never drops while the hold still counts (balance_within_overdraft).
    capture_entry_id uuid REFERENCES journal_entries (id) DEFERRABLE INITIALLY DEFERRED,
    created_by       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT hold_captured_within_amount CHECK (captured_amount >= 0 AND captured_amount <= amount),
    CONSTRAINT hold_capture_has_entry CHECK ((status = 'captured') = (capture_entry_id IS NOT NULL)),
    CONSTRAINT hold_captured_amount_when_captured CHECK (status = 'captured' OR captured_amount = 0)
);
CREATE INDEX ix_holds_account ON holds (account_id, created_at DESC);
-- Lazy expiry and the held sum read only the active ones.
CREATE INDEX ix_holds_active ON holds (account_id, expires_at) WHERE status = 'active';

CREATE FUNCTION holds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'holds are never deleted; release them'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT currency, status INTO account FROM ledger_accounts WHERE id = NEW.account_id;
        IF NEW.status <> 'active' THEN
            RAISE EXCEPTION 'a hold starts active' USING ERRCODE = 'check_violation',
                CONSTRAINT = 'holds_state_change';
        END IF;
        IF account.currency <> NEW.currency THEN
            RAISE EXCEPTION 'hold in % on an account in %', NEW.currency, account.currency
                USING ERRCODE = 'check_violation', CONSTRAINT = 'hold_in_account_currency';
        END IF;
        IF account.status <> 'active' THEN
            RAISE EXCEPTION 'account % is %: it takes no hold', NEW.account_id, account.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'hold_on_active_account';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.account_id, NEW.amount, NEW.currency, NEW.expires_at, NEW.created_at)
       IS DISTINCT FROM (OLD.id, OLD.account_id, OLD.amount, OLD.currency, OLD.expires_at, OLD.created_at)
       OR (OLD.status <> 'active' AND NEW IS DISTINCT FROM OLD)
       OR (OLD.status = 'active' AND NEW.status = 'active'
           AND (NEW.captured_amount, NEW.capture_entry_id) IS DISTINCT FROM (OLD.captured_amount, OLD.capture_entry_id)) THEN
        RAISE EXCEPTION 'hold %: only active -> captured, released or expired', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'holds_state_change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holds_guard BEFORE INSERT OR UPDATE OR DELETE ON holds
    FOR EACH ROW EXECUTE FUNCTION holds_guard();

CREATE FUNCTION ledger_active_held(account text) RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(sum(amount), 0)::bigint FROM holds WHERE account_id = account AND status = 'active'
$$;

CREATE FUNCTION holds_sync_held() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_accounts SET held = ledger_active_held(NEW.account_id), updated_at = now()
     WHERE id = NEW.account_id;
    RETURN NULL;
END $$;
CREATE TRIGGER holds_sync_held AFTER INSERT OR UPDATE ON holds
    FOR EACH ROW EXECUTE FUNCTION holds_sync_held();

CREATE FUNCTION ledger_held_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'INSERT' AND NEW.held <> 0)
       OR (TG_OP = 'UPDATE' AND NEW.held IS DISTINCT FROM OLD.held
           AND NEW.held IS DISTINCT FROM ledger_active_held(NEW.id)) THEN
        RAISE EXCEPTION 'held of % set to % but its active holds sum to %', NEW.id, NEW.held,
            ledger_active_held(NEW.id)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'held_matches_holds';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_accounts_held_guard BEFORE INSERT OR UPDATE OF held ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_held_guard();
"""

DOWNGRADE = r"""
DROP TRIGGER ledger_accounts_held_guard ON ledger_accounts;
DROP FUNCTION ledger_held_guard();
DROP TABLE holds;
DROP FUNCTION holds_sync_held();
DROP FUNCTION ledger_active_held(text);
DROP FUNCTION holds_guard();
UPDATE ledger_accounts SET held = 0 WHERE held <> 0;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
