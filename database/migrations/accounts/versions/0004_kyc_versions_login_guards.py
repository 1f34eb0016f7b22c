"""KYC and credit, versions for the ledger, and the login and session guards (issue 13).

- customers: `kyc_status` may also be 'rejected'; a `version` counter (the ledger dedupes
  customer.kyc_changed and PUT /internal/ledger-customers by it). A KYC change without a
  version bump, or any version going back, is refused by a trigger.
- bank_accounts: every UPDATE bumps `version` by exactly one (the ledger applies account
  snapshots by version, so a change the counter does not show would never reach it).
  A trigger refuses what the API refuses, so hand-written SQL cannot slip past Python:
  an 11th open account of a customer (it locks the customer row, so two concurrent
  openings cannot both be the 10th), a type other than checking/savings for a customer
  who is not verified, and a credit line (overdraft_limit > 0) on a credit_card or loan of
  a customer who is not verified.
- login_attempts is keyed on (email, client address): failures from one address throttle
  that address only. login_email_attempts counts failures per email from everywhere (the
  hard ceiling); login_known_addresses remembers where each customer has signed in, so
  the ceiling slows strangers but never the customer from a known address.
- refresh_tokens.family_expires_at: the family's absolute end (login + 30 days by default),
  copied to each successor; no token of the family outlives it.

Revision ID: accounts_0004
Revises: accounts_0003
Create Date: 2026-12-01
"""
from alembic import op

revision = "accounts_0004"
down_revision = "accounts_0003"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE customers DROP CONSTRAINT ck_customers_kyc_status;
ALTER TABLE customers
  ADD CONSTRAINT ck_customers_kyc_status CHECK (kyc_status IN ('unverified', 'verified', 'rejected')),
  ADD COLUMN version integer NOT NULL DEFAULT 1 CONSTRAINT ck_customers_version CHECK (version >= 1);
ALTER TABLE bank_accounts ADD CONSTRAINT ck_bank_accounts_version CHECK (version >= 1);

CREATE FUNCTION customers_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.version < OLD.version
     OR (NEW.kyc_status IS DISTINCT FROM OLD.kyc_status AND NEW.version <> OLD.version + 1) THEN
    RAISE EXCEPTION 'customer %: a KYC change bumps version by one (% -> %)', OLD.id, OLD.version, NEW.version
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_customers_version_bump';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER customers_version_guard BEFORE UPDATE ON customers
  FOR EACH ROW EXECUTE FUNCTION customers_version_guard();

CREATE FUNCTION bank_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kyc text;
  open_accounts integer;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.version <> OLD.version + 1 THEN
    RAISE EXCEPTION 'account %: every change bumps version by one (% -> %)', OLD.id, OLD.version, NEW.version
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_bank_accounts_version_bump';
  END IF;
  -- The customer row is locked: concurrent openings for one customer queue here.
  SELECT kyc_status INTO kyc FROM customers WHERE id = NEW.customer_id FOR UPDATE;
  IF TG_OP = 'INSERT' THEN
    IF NEW.type NOT IN ('checking', 'savings') AND kyc IS DISTINCT FROM 'verified' THEN
      RAISE EXCEPTION 'customer %: % accounts need a verified customer', NEW.customer_id, NEW.type
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_bank_accounts_kyc_required';
    END IF;
    SELECT count(*) INTO open_accounts FROM bank_accounts
     WHERE customer_id = NEW.customer_id AND status <> 'closed';
    IF open_accounts >= 10 THEN
      RAISE EXCEPTION 'customer % has 10 open accounts already', NEW.customer_id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_bank_accounts_open_limit';
    END IF;
  END IF;
  IF NEW.type IN ('credit_card', 'loan') AND NEW.overdraft_limit > 0
     AND (TG_OP = 'INSERT' OR NEW.overdraft_limit > OLD.overdraft_limit)
     AND kyc IS DISTINCT FROM 'verified' THEN
    RAISE EXCEPTION 'customer %: a credit line needs a verified customer', NEW.customer_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_bank_accounts_kyc_required';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER bank_accounts_guard BEFORE INSERT OR UPDATE ON bank_accounts
  FOR EACH ROW EXECUTE FUNCTION bank_accounts_guard();

DROP TABLE login_attempts;
CREATE TABLE login_attempts (
  email_key text NOT NULL,
  client_key text NOT NULL,
  failures integer NOT NULL DEFAULT 0,
  last_failure_at timestamptz,
  next_attempt_at timestamptz,
  locked_until timestamptz,
  PRIMARY KEY (email_key, client_key)
);
CREATE TABLE login_email_attempts (
  email_key text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  window_started_at timestamptz NOT NULL,
  next_attempt_at timestamptz
);
CREATE TABLE login_known_addresses (
  customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  client_key text NOT NULL,
  last_login_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, client_key)
);
ALTER TABLE login_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_attempts_system ON login_attempts USING (app_is_system()) WITH CHECK (app_is_system());
ALTER TABLE login_email_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_email_attempts_system ON login_email_attempts
  USING (app_is_system()) WITH CHECK (app_is_system());
ALTER TABLE login_known_addresses ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_known_addresses_system ON login_known_addresses
  USING (app_is_system()) WITH CHECK (app_is_system());

ALTER TABLE refresh_tokens ADD COLUMN family_expires_at timestamptz;
UPDATE refresh_tokens r
   SET family_expires_at = greatest(f.started + interval '30 days', r.expires_at)
  FROM (SELECT family_id, min(created_at) AS started FROM refresh_tokens GROUP BY family_id) f
 WHERE f.family_id = r.family_id;
ALTER TABLE refresh_tokens
  ALTER COLUMN family_expires_at SET NOT NULL,
  ADD CONSTRAINT ck_refresh_tokens_within_family CHECK (expires_at <= family_expires_at);
"""

DOWNGRADE = r"""
ALTER TABLE refresh_tokens DROP CONSTRAINT ck_refresh_tokens_within_family, DROP COLUMN family_expires_at;
DROP TABLE login_known_addresses;
DROP TABLE login_email_attempts;
DROP TABLE login_attempts;
CREATE TABLE login_attempts (
  email_key text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  last_failure_at timestamptz,
  next_attempt_at timestamptz,
  locked_until timestamptz
);
ALTER TABLE login_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_attempts_system ON login_attempts USING (app_is_system()) WITH CHECK (app_is_system());
DROP TRIGGER bank_accounts_guard ON bank_accounts;
DROP FUNCTION bank_accounts_guard();
DROP TRIGGER customers_version_guard ON customers;
DROP FUNCTION customers_version_guard();
ALTER TABLE bank_accounts DROP CONSTRAINT ck_bank_accounts_version;
UPDATE customers SET kyc_status = 'unverified' WHERE kyc_status = 'rejected';
ALTER TABLE customers DROP CONSTRAINT ck_customers_kyc_status, DROP COLUMN version;
ALTER TABLE customers
  ADD CONSTRAINT ck_customers_kyc_status CHECK (kyc_status IN ('unverified', 'verified'));
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
