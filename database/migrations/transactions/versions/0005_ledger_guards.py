"""Balances that move only with postings, closed accounts that stay closed, KYC in the ledger.

What the database now refuses (the app checks first; these make a bug or a stray
statement by the app role fail instead of corrupting the books):

1. Holds count against the overdraft: `balance - held >= -overdraft_limit` (CHECK
   balance_within_overdraft, replacing the one that ignored `held`); only the bank's own
   accounts may go negative without limit (CHECK only_bank_accounts_go_negative).
2. A balance changes only with postings that sum to the change. Design: the postings of an
   account form a chain in statement order (created_at, id):
   - BEFORE INSERT on postings (`postings_guard`, a plain trigger, so SET CONSTRAINTS cannot
     defer or skip it): a posting's balance_after must be the account's previous posting's
     balance_after (0 for the first) plus its amount, and created_at is moved up to the
     previous posting's if the clock stepped back, so the chain order is the insert order.
     Hence the latest posting's balance_after is always the sum of the account's postings.
   - BEFORE INSERT OR UPDATE on ledger_accounts (`ledger_accounts_guard`): a balance may only
     be set to the balance_after of the account's latest posting. A stray
     `UPDATE ledger_accounts SET balance = balance + 1000` fails at once (SQLSTATE 23514,
     constraint balance_moves_with_postings): no posting ends at that balance.
   - the deferred check of every new posting (below) also requires, at commit, that the
     account's balance equals its latest posting's balance_after, so postings without the
     balance update cannot commit either.
   `held` is not part of the chain: holds reserve money without posting (it is kept >= 0 and
   inside the overdraft rule by CHECKs).
3. Closed is terminal and empty: a closed account cannot be reopened (trigger), holds
   nothing (CHECK closed_account_is_empty: balance 0, held 0) and takes no posting in
   either direction (postings_guard, constraint posting_to_closed_account).
4. The `SET CONSTRAINTS ALL IMMEDIATE` bypass is closed. Before, a posting's deferred check
   skipped entries inserted by the same transaction, trusting the entry's own check to run
   at commit; a transaction that ran the entry's check early (SET CONSTRAINTS ALL IMMEDIATE
   after two balanced postings) could then add an unbalancing third posting unchecked.
   Now the entry is verified by its LAST posting's check, whenever that fires (at commit,
   or at the statement's end when immediate): whichever posting is added last, the check
   sees every posting of the entry. The entry's own check only requires that it has postings
   (the posting check does the rest), so an entry is still verified once, not per posting.
5. `ledger_customers` mirrors each customer's KYC status with the accounts service's
   version counter; `ledger_accounts.version` now holds the accounts service's version of
   the account (it counted balance updates before: reset to 0, so the next snapshot applies).

Revision ID: transactions_0005
Revises: transactions_0004
Create Date: 2026-12-01
"""
from alembic import op

revision = "transactions_0005"
down_revision = "transactions_0004"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE ledger_customers (
    customer_id text PRIMARY KEY,
    kyc_status  text NOT NULL,
    version     bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

UPDATE ledger_accounts SET version = 0;

ALTER TABLE ledger_accounts
    DROP CONSTRAINT balance_within_overdraft,
    ADD CONSTRAINT balance_within_overdraft CHECK (may_go_negative OR balance - held >= -overdraft_limit),
    -- Unlimited credit is for the bank's own accounts: one stray UPDATE must not grant it.
    ADD CONSTRAINT only_bank_accounts_go_negative CHECK (NOT may_go_negative OR kind <> 'customer'),
    -- NOT VALID: enforced on every insert and update from now on, without failing the
    -- migration on a database where the old race already left money in a closed account
    -- (those rows are for the ledger check and a person; VALIDATE CONSTRAINT once cleared).
    ADD CONSTRAINT closed_account_is_empty CHECK (status <> 'closed' OR (balance = 0 AND held = 0)) NOT VALID;

CREATE FUNCTION ledger_latest_posting(account text) RETURNS postings
LANGUAGE sql VOLATILE AS $$
    -- VOLATILE: called from row triggers, it must see the rows earlier in the same statement.
    SELECT * FROM postings WHERE account_id = account ORDER BY created_at DESC, id DESC LIMIT 1
$$;

CREATE FUNCTION ledger_posting_guard() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    account_status text;
    previous postings;
BEGIN
    SELECT status INTO account_status FROM ledger_accounts WHERE id = NEW.account_id;
    IF account_status = 'closed' THEN
        RAISE EXCEPTION 'account % is closed: nothing posts to it', NEW.account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_to_closed_account';
    END IF;
    previous := ledger_latest_posting(NEW.account_id);
    IF NEW.balance_after IS DISTINCT FROM coalesce(previous.balance_after, 0) + NEW.amount THEN
        RAISE EXCEPTION 'posting on % ends at %, but its previous balance % plus % is %', NEW.account_id,
            NEW.balance_after, coalesce(previous.balance_after, 0), NEW.amount,
            coalesce(previous.balance_after, 0) + NEW.amount
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_balance_chain';
    END IF;
    IF previous.created_at IS NOT NULL AND NEW.created_at < previous.created_at THEN
        NEW.created_at := previous.created_at;  -- the id breaks the tie: still the latest
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER postings_guard BEFORE INSERT ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_guard();

CREATE FUNCTION ledger_account_guard() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    latest bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = 'closed' AND NEW.status <> 'closed' THEN
        RAISE EXCEPTION 'account % is closed; closing is final', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'closed_is_terminal';
    END IF;
    IF (TG_OP = 'INSERT' AND NEW.balance <> 0)
       OR (TG_OP = 'UPDATE' AND NEW.balance IS DISTINCT FROM OLD.balance) THEN
        latest := (ledger_latest_posting(NEW.id)).balance_after;
        IF latest IS DISTINCT FROM NEW.balance THEN
            RAISE EXCEPTION 'balance of % set to % but its postings end at %', NEW.id, NEW.balance,
                coalesce(latest, 0)
                USING ERRCODE = 'check_violation', CONSTRAINT = 'balance_moves_with_postings';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_accounts_guard BEFORE INSERT OR UPDATE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_account_guard();

CREATE OR REPLACE FUNCTION ledger_check_new_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The entry's last posting verifies it in full (ledger_check_new_posting).
    IF NOT EXISTS (SELECT 1 FROM postings WHERE entry_id = NEW.id) THEN
        RAISE EXCEPTION 'journal entry % has fewer than two postings', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_has_postings';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_check_new_posting() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account_balance bigint;
BEGIN
    IF NEW.id = (SELECT max(id) FROM postings WHERE entry_id = NEW.entry_id) THEN
        PERFORM ledger_verify_entry(NEW.entry_id);
    END IF;
    SELECT balance INTO account_balance FROM ledger_accounts WHERE id = NEW.account_id;
    IF account_balance IS DISTINCT FROM (ledger_latest_posting(NEW.account_id)).balance_after THEN
        RAISE EXCEPTION 'postings on % end at % but its balance is %', NEW.account_id,
            (ledger_latest_posting(NEW.account_id)).balance_after, account_balance
            USING ERRCODE = 'check_violation', CONSTRAINT = 'balance_moves_with_postings';
    END IF;
    RETURN NULL;
END $$;
"""

DOWNGRADE = r"""
CREATE OR REPLACE FUNCTION ledger_check_new_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_verify_entry(NEW.id);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_check_new_posting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM journal_entries
                    WHERE id = NEW.entry_id AND xmin = pg_current_xact_id()::xid) THEN
        PERFORM ledger_verify_entry(NEW.entry_id);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER ledger_accounts_guard ON ledger_accounts;
DROP FUNCTION ledger_account_guard();
DROP TRIGGER postings_guard ON postings;
DROP FUNCTION ledger_posting_guard();
DROP FUNCTION ledger_latest_posting(text);
ALTER TABLE ledger_accounts
    DROP CONSTRAINT closed_account_is_empty,
    DROP CONSTRAINT only_bank_accounts_go_negative,
    DROP CONSTRAINT balance_within_overdraft,
    ADD CONSTRAINT balance_within_overdraft CHECK (may_go_negative OR balance >= -overdraft_limit);
DROP TABLE ledger_customers;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
