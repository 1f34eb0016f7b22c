"""External and international transfers to an IBAN; account numbers and types in the ledger.

1. `ledger_accounts` gains `iban` (the account's number as the accounts service's snapshot
   carries it: an IBAN of this bank names one account) and `account_type`
   (checking, savings, credit_card...: card spending earns rewards). Two new kinds of the
   bank's own accounts: `outgoing_clearing` (chart 2200: money sent to another bank, not
   yet settled) and `rewards` (chart 5100: pays redeemed points).
2. `journal_entries` gains `merchant` (at most 128 characters) and two kinds:
   `external_transfer` (source -> outgoing clearing, the fee to fee income) and
   `external_settlement` (outgoing clearing -> settlement: the money has left the bank).
   A return is a `reversal` of the external transfer (the mirror of its postings), so the
   reversal rules and checks of 0005 hold for it too.
3. `external_transfers`: one row per external entry with its beneficiary and state,
   `pending` -> `posted` (with its settlement entry) | `returned` (with its reversal),
   nothing else; the beneficiary never changes and rows are never deleted (trigger
   external_transfers_guard). The entries stay immutable; only this state moves.

Revision ID: transactions_0010
Revises: transactions_0009
Create Date: 2026-12-02
"""
from alembic import op

revision = "transactions_0010"
down_revision = "transactions_0009"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE ledger_accounts
    ADD COLUMN iban text CONSTRAINT ledger_account_iban_shape CHECK (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$'),
    ADD COLUMN account_type text,
    DROP CONSTRAINT ledger_account_kind,
    ADD CONSTRAINT ledger_account_kind
        CHECK (kind IN ('customer', 'settlement', 'fx_clearing', 'fees', 'outgoing_clearing', 'rewards'));
-- Not unique: the accounts service owns numbering (its own unique index); a clash here
-- would refuse that service's snapshot, so the lookup by IBAN takes only a single match.
CREATE INDEX ix_ledger_accounts_iban ON ledger_accounts (iban) WHERE iban IS NOT NULL;

ALTER TABLE journal_entries
    ADD COLUMN merchant text CONSTRAINT entry_merchant_length CHECK (char_length(merchant) <= 128),
    DROP CONSTRAINT journal_entry_kind,
    ADD CONSTRAINT journal_entry_kind CHECK (kind IN ('transfer', 'deposit', 'reversal', 'card_capture',
                                                      'external_transfer', 'external_settlement'));

CREATE TABLE external_transfers (
    entry_id            uuid PRIMARY KEY REFERENCES journal_entries (id),
    iban                text NOT NULL CONSTRAINT external_iban_shape
                            CHECK (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$'),
    beneficiary_name    text NOT NULL CONSTRAINT external_beneficiary_length
                            CHECK (char_length(beneficiary_name) BETWEEN 1 AND 140),
    country             char(2) NOT NULL,
    bic                 text,
    bank_name           text,
    international       boolean NOT NULL,
    status              text NOT NULL DEFAULT 'pending' CONSTRAINT external_status
                            CHECK (status IN ('pending', 'posted', 'returned')),
    -- Deferred: the state and its entry are written in one transaction, in either order.
    settlement_entry_id uuid UNIQUE REFERENCES journal_entries (id) DEFERRABLE INITIALLY DEFERRED,
    return_entry_id     uuid UNIQUE REFERENCES journal_entries (id) DEFERRABLE INITIALLY DEFERRED,
    decided_by          text,
    decided_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT external_settled_has_entry CHECK ((status = 'posted') = (settlement_entry_id IS NOT NULL)),
    CONSTRAINT external_returned_has_entry CHECK ((status = 'returned') = (return_entry_id IS NOT NULL)),
    CONSTRAINT external_decided_stamp CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- The operators' queue of what is still to settle.
CREATE INDEX ix_external_transfers_pending ON external_transfers (created_at) WHERE status = 'pending';

CREATE FUNCTION external_transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'external transfers are history: never deleted'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' THEN
            RAISE EXCEPTION 'an external transfer starts pending' USING ERRCODE = 'check_violation',
                CONSTRAINT = 'external_state_change';
        END IF;
        IF (SELECT kind FROM journal_entries WHERE id = NEW.entry_id) IS DISTINCT FROM 'external_transfer' THEN
            RAISE EXCEPTION 'entry % is not an external transfer', NEW.entry_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'external_state_change';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status <> 'pending' OR NEW.status = 'pending' THEN
        RAISE EXCEPTION 'external transfer %: % is final', OLD.entry_id, OLD.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'external_state_change';
    END IF;
    IF (NEW.entry_id, NEW.iban, NEW.beneficiary_name, NEW.country, NEW.bic, NEW.bank_name,
        NEW.international, NEW.created_at)
        IS DISTINCT FROM (OLD.entry_id, OLD.iban, OLD.beneficiary_name, OLD.country, OLD.bic,
                          OLD.bank_name, OLD.international, OLD.created_at) THEN
        RAISE EXCEPTION 'the beneficiary of an external transfer never changes'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'external_state_change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER external_transfers_guard BEFORE INSERT OR UPDATE OR DELETE ON external_transfers
    FOR EACH ROW EXECUTE FUNCTION external_transfers_guard();
"""

DOWNGRADE = r"""
DROP TABLE external_transfers;
DROP FUNCTION external_transfers_guard();
ALTER TABLE journal_entries
    DROP CONSTRAINT journal_entry_kind,
    ADD CONSTRAINT journal_entry_kind CHECK (kind IN ('transfer', 'deposit', 'reversal', 'card_capture')),
    DROP COLUMN merchant;
DROP INDEX ix_ledger_accounts_iban;
ALTER TABLE ledger_accounts
    DROP CONSTRAINT ledger_account_kind,
    ADD CONSTRAINT ledger_account_kind CHECK (kind IN ('customer', 'settlement', 'fx_clearing', 'fees')),
    DROP COLUMN account_type,
    DROP COLUMN iban;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
