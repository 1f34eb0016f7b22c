"""Cheaper commit-time entry checks; an index for statements filtered by category.

The deferred checks of 0002 ran the full balance query three times per entry (once for
the entry row and once per posting), three queries each time: a 1,000-transfer batch
spent most of its commit running 9,000 of them. Now:
- the entry's own trigger runs the whole check in one query;
- a posting's trigger skips it when its entry was inserted by this same transaction
  (the entry's trigger checks it at commit, with every posting in place), and runs it in
  full otherwise: a posting added later to an old entry is still refused.
The rules enforced are unchanged (SQLSTATE 23514, same constraint names).

Revision ID: transactions_0003
Revises: transactions_0002
Create Date: 2026-11-25
"""
from alembic import op

revision = "transactions_0003"
down_revision = "transactions_0002"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE FUNCTION ledger_verify_entry(entry uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    found record;
BEGIN
    SELECT count(*) AS postings,
           coalesce(bool_or(p.currency <> a.currency), false) AS foreign_currency,
           (SELECT coalesce(bool_or(total <> 0), false)
              FROM (SELECT sum(amount) AS total FROM postings
                     WHERE entry_id = entry GROUP BY currency) AS per_currency) AS unbalanced
      INTO found
      FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
     WHERE p.entry_id = entry;
    IF found.postings < 2 THEN
        RAISE EXCEPTION 'journal entry % has fewer than two postings', entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_has_postings';
    END IF;
    IF found.unbalanced THEN
        RAISE EXCEPTION 'journal entry % does not balance', entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_balanced';
    END IF;
    IF found.foreign_currency THEN
        RAISE EXCEPTION 'journal entry % posts in a currency its account does not hold', entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_in_account_currency';
    END IF;
END $$;

CREATE FUNCTION ledger_check_new_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_verify_entry(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_check_new_posting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- xmin is this transaction's id only for rows it inserted itself (a savepoint's rows
    -- carry another id and simply get the full check).
    IF NOT EXISTS (SELECT 1 FROM journal_entries
                    WHERE id = NEW.entry_id AND xmin = pg_current_xact_id()::xid) THEN
        PERFORM ledger_verify_entry(NEW.entry_id);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER postings_balanced ON postings;
DROP TRIGGER entry_has_postings ON journal_entries;
DROP FUNCTION ledger_check_entry_balanced();
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_new_posting();
CREATE CONSTRAINT TRIGGER entry_has_postings AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_new_entry();

-- Statements filtered by category (sparse: only categorised lines are in it).
CREATE INDEX ix_postings_statement_category ON postings (account_id, category, created_at DESC, id DESC)
    WHERE category IS NOT NULL;
"""

DOWNGRADE = r"""
DROP INDEX ix_postings_statement_category;
DROP TRIGGER postings_balanced ON postings;
DROP TRIGGER entry_has_postings ON journal_entries;
DROP FUNCTION ledger_check_new_posting();
DROP FUNCTION ledger_check_new_entry();
DROP FUNCTION ledger_verify_entry(uuid);

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
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
CREATE CONSTRAINT TRIGGER entry_has_postings AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
