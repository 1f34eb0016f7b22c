"""The double-entry ledger: ledger accounts, journal entries, postings, idempotency keys.

Money is BIGINT minor units of the row's currency (ISO 4217 exponent), never a float.
The database itself enforces what must never break, so bulk paths and hand-written SQL
cannot slip past it:
- the postings of an entry sum to zero per currency, and an entry has at least two
  postings, in the posting's account currency (deferred constraint triggers, checked at
  commit, SQLSTATE 23514);
- journal entries and postings are never updated or deleted (triggers);
- a balance never goes below minus its overdraft limit, unless the account is one of the
  bank's own that may (CHECK);
- an entry is reversed at most once (unique reverses_entry_id).

Revision ID: transactions_0002
Revises: transactions_0001
Create Date: 2026-11-25
"""
from alembic import op

revision = "transactions_0002"
down_revision = "transactions_0001"
branch_labels = None
depends_on = None


UPGRADE = r"""
CREATE TABLE ledger_accounts (
    id              text PRIMARY KEY,
    customer_id     text,
    kind            text NOT NULL CONSTRAINT ledger_account_kind
                        CHECK (kind IN ('customer', 'settlement', 'fx_clearing', 'fees')),
    currency        char(3) NOT NULL,
    status          text NOT NULL DEFAULT 'active' CONSTRAINT ledger_account_status
                        CHECK (status IN ('active', 'frozen', 'closed')),
    overdraft_limit bigint NOT NULL DEFAULT 0 CONSTRAINT overdraft_limit_not_negative
                        CHECK (overdraft_limit >= 0),
    balance         bigint NOT NULL DEFAULT 0,
    held            bigint NOT NULL DEFAULT 0 CONSTRAINT held_not_negative CHECK (held >= 0),
    may_go_negative boolean NOT NULL DEFAULT false,
    version         bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT balance_within_overdraft CHECK (may_go_negative OR balance >= -overdraft_limit),
    CONSTRAINT customer_accounts_have_owner CHECK ((kind = 'customer') = (customer_id IS NOT NULL))
);
CREATE INDEX ix_ledger_accounts_customer ON ledger_accounts (customer_id) WHERE customer_id IS NOT NULL;

CREATE TABLE journal_entries (
    id                uuid PRIMARY KEY,
    kind              text NOT NULL CONSTRAINT journal_entry_kind
                          CHECK (kind IN ('transfer', 'deposit', 'reversal')),
    status            text NOT NULL DEFAULT 'posted' CONSTRAINT journal_entry_status
                          CHECK (status IN ('posted')),
    amount            bigint NOT NULL CONSTRAINT entry_amount_positive CHECK (amount > 0),
    currency          char(3) NOT NULL,
    description       text NOT NULL DEFAULT '',
    category          text,
    from_account_id   text NOT NULL REFERENCES ledger_accounts (id),
    to_account_id     text NOT NULL REFERENCES ledger_accounts (id),
    initiated_by      text,
    reverses_entry_id uuid REFERENCES journal_entries (id)
                          CONSTRAINT entry_reversed_once UNIQUE,
    request_id        text,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT entry_moves_between_two_accounts CHECK (from_account_id <> to_account_id),
    CONSTRAINT reversal_names_its_entry CHECK ((kind = 'reversal') = (reverses_entry_id IS NOT NULL))
);

CREATE TABLE postings (
    id            bigserial PRIMARY KEY,
    entry_id      uuid NOT NULL REFERENCES journal_entries (id),
    account_id    text NOT NULL REFERENCES ledger_accounts (id),
    amount        bigint NOT NULL CONSTRAINT posting_amount_not_zero CHECK (amount <> 0),
    currency      char(3) NOT NULL,
    balance_after bigint NOT NULL,
    category      text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ix_postings_entry ON postings (entry_id);
-- Statements: an account's lines newest first, keyset on (created_at, id).
CREATE INDEX ix_postings_statement ON postings (account_id, created_at DESC, id DESC);

CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    status_code   integer,
    response_body jsonb,
    resource_id   uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX ix_idempotency_keys_created ON idempotency_keys (created_at);

CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry uuid;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        entry := NEW.id;
    ELSE
        entry := NEW.entry_id;
    END IF;
    IF (SELECT count(*) FROM postings WHERE entry_id = entry) < 2 THEN
        RAISE EXCEPTION 'journal entry % has fewer than two postings', entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_has_postings';
    END IF;
    IF EXISTS (SELECT 1 FROM postings WHERE entry_id = entry
               GROUP BY currency HAVING sum(amount) <> 0) THEN
        RAISE EXCEPTION 'journal entry % does not balance', entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_balanced';
    END IF;
    IF EXISTS (SELECT 1 FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
               WHERE p.entry_id = entry AND p.currency <> a.currency) THEN
        RAISE EXCEPTION 'journal entry % posts in a currency its account does not hold', entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_in_account_currency';
    END IF;
    RETURN NULL;
END $$;

-- Checked at commit, once all postings of the entry are in.
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
CREATE CONSTRAINT TRIGGER entry_has_postings AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never updated or deleted; post a reversing entry', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

DOWNGRADE = r"""
DROP TABLE postings;
DROP TABLE journal_entries;
DROP FUNCTION ledger_refuse_change();
DROP FUNCTION ledger_check_entry_balanced();
DROP TABLE idempotency_keys;
DROP TABLE ledger_accounts;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
