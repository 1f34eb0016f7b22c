-- The accounts service's schema at Alembic head (accounts_0004), for reading and review.
-- Alembic (database/migrations/accounts/versions/) is what creates it; a test applies this
-- file to an empty database and checks that it yields the same tables, columns, indexes
-- and policies as the migrations.
--
-- Run as the owner role. The app role (database/postgres/service_database.sql) gets DML
-- only and has no BYPASSRLS, so the policies below apply to it; the owner, which owns the
-- tables, is not subject to them (no FORCE ROW LEVEL SECURITY).
--
-- How the app sets the current customer: at the start of every transaction
-- (services/accounts/db.py, SQLAlchemy "after_begin") it runs
--   SELECT set_config('app.customer_id', '<customer uuid>', true)   -- SET LOCAL
-- for a customer's request, or set_config('app.access', 'system', true) for trusted
-- paths (registration, login, refresh, admin endpoints, the CLI). Both end with the
-- transaction, so a pooled connection never carries them into the next request.

-- Baseline (accounts_0001): the event outbox and inbox.
CREATE TABLE outbox_events (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  destination text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  last_error text,
  CONSTRAINT uq_outbox_event_destination UNIQUE (event_id, destination)
);
-- The relay's only query: undelivered rows that are due.
CREATE INDEX ix_outbox_due ON outbox_events (next_attempt_at) WHERE delivered_at IS NULL;
CREATE TABLE processed_events (
  event_id uuid PRIMARY KEY,
  event_type text NOT NULL,
  source text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- accounts_0002: customers, credentials, bank accounts, audit log, row-level security.
CREATE FUNCTION app_current_customer() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('app.customer_id', true), '')::uuid $$;
CREATE FUNCTION app_is_system() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT coalesce(current_setting('app.access', true), '') = 'system' $$;

CREATE TABLE customers (
  id uuid PRIMARY KEY,
  email text NOT NULL CONSTRAINT ck_customers_email_length CHECK (length(email) BETWEEN 3 AND 254),
  full_name text NOT NULL CONSTRAINT ck_customers_full_name_length CHECK (length(full_name) BETWEEN 1 AND 200),
  phone_encrypted text,
  national_id_encrypted text,
  kyc_status text NOT NULL DEFAULT 'unverified'
    CONSTRAINT ck_customers_kyc_status CHECK (kyc_status IN ('unverified', 'verified')),
  password_hash text NOT NULL,
  roles text[] NOT NULL DEFAULT '{customer}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique whatever their case; login looks them up by lower(email).
CREATE UNIQUE INDEX uq_customers_email_lower ON customers (lower(email));

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY,
  family_id uuid NOT NULL,
  customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  token_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  revoked_at timestamptz
);
CREATE UNIQUE INDEX uq_refresh_tokens_hash ON refresh_tokens (token_hash);
CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX ix_refresh_tokens_customer ON refresh_tokens (customer_id);

-- The 8-digit account part of the IBAN (GBkk FNVA 0400 04nn nnnn nn).
CREATE SEQUENCE account_number_seq MINVALUE 1 MAXVALUE 99999999 NO CYCLE;

CREATE TABLE bank_accounts (
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL REFERENCES customers (id),
  number text NOT NULL,
  type text NOT NULL CONSTRAINT ck_bank_accounts_type
    CHECK (type IN ('checking', 'savings', 'credit_card', 'loan', 'investment')),
  currency text NOT NULL CONSTRAINT ck_bank_accounts_currency CHECK (currency ~ '^[A-Z]{3}$'),
  nickname text CONSTRAINT ck_bank_accounts_nickname_length CHECK (length(nickname) <= 60),
  status text NOT NULL DEFAULT 'active'
    CONSTRAINT ck_bank_accounts_status CHECK (status IN ('active', 'frozen', 'closed')),
  overdraft_limit numeric(20, 4) NOT NULL DEFAULT 0
    CONSTRAINT ck_bank_accounts_overdraft_limit CHECK (overdraft_limit >= 0),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz
);
CREATE UNIQUE INDEX uq_bank_accounts_number ON bank_accounts (number);
-- A customer's accounts, oldest first, keyset-paginated.
CREATE INDEX ix_bank_accounts_customer ON bank_accounts (customer_id, created_at, id);

CREATE TABLE audit_logs (
  id bigserial PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_id uuid,
  actor_type text NOT NULL CONSTRAINT ck_audit_logs_actor_type CHECK (actor_type IN ('customer', 'admin', 'system')),
  action text NOT NULL,
  target_type text NOT NULL,
  target_id text NOT NULL,
  customer_id uuid,
  before jsonb,
  after jsonb,
  request_id text
);
-- Admin reads: newest first (id DESC), optionally filtered by one of these.
CREATE INDEX ix_audit_logs_actor ON audit_logs (actor_id, id);
CREATE INDEX ix_audit_logs_customer ON audit_logs (customer_id, id);
CREATE INDEX ix_audit_logs_target ON audit_logs (target_type, target_id, id);
CREATE INDEX ix_audit_logs_action ON audit_logs (action, id);
CREATE INDEX ix_audit_logs_occurred ON audit_logs (occurred_at);

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_self ON customers
  USING (id = app_current_customer()) WITH CHECK (id = app_current_customer());
CREATE POLICY customers_system ON customers USING (app_is_system()) WITH CHECK (app_is_system());

ALTER TABLE bank_accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY bank_accounts_owner ON bank_accounts
  USING (customer_id = app_current_customer()) WITH CHECK (customer_id = app_current_customer());
CREATE POLICY bank_accounts_system ON bank_accounts USING (app_is_system()) WITH CHECK (app_is_system());

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_owner ON refresh_tokens
  USING (customer_id = app_current_customer()) WITH CHECK (customer_id = app_current_customer());
CREATE POLICY refresh_tokens_system ON refresh_tokens USING (app_is_system()) WITH CHECK (app_is_system());

-- Append-only for the app role: no UPDATE or DELETE policy exists. A customer's session
-- may read its own entries (INSERT ... RETURNING needs that); admins read them all.
ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_logs_read ON audit_logs FOR SELECT
  USING (app_is_system() OR customer_id = app_current_customer());
CREATE POLICY audit_logs_append ON audit_logs FOR INSERT
  WITH CHECK (app_is_system() OR customer_id = app_current_customer());

-- accounts_0003: the outbox relay's lease, dead letters and per-aggregate ordering; purge indexes.
ALTER TABLE outbox_events
  ADD COLUMN lease_until timestamptz,
  ADD COLUMN dead_lettered_at timestamptz,
  ADD COLUMN aggregate_key text,
  ADD CONSTRAINT ck_outbox_delivered_or_dead CHECK (delivered_at IS NULL OR dead_lettered_at IS NULL);
UPDATE outbox_events
   SET aggregate_key = coalesce('account:' || (payload->'data'->>'account_id'),
                                'customer:' || (payload->'data'->>'customer_id'))
 WHERE delivered_at IS NULL;
DROP INDEX ix_outbox_due;
-- The relay's claim: pending rows that are due.
CREATE INDEX ix_outbox_due ON outbox_events (next_attempt_at)
  WHERE delivered_at IS NULL AND dead_lettered_at IS NULL;
-- The claim's ordering test: is an older row for the same key still pending there?
CREATE INDEX ix_outbox_pending_key ON outbox_events (destination, aggregate_key, id)
  WHERE delivered_at IS NULL AND dead_lettered_at IS NULL AND aggregate_key IS NOT NULL;
CREATE INDEX ix_outbox_dead ON outbox_events (dead_lettered_at) WHERE dead_lettered_at IS NOT NULL;
CREATE INDEX ix_outbox_delivered ON outbox_events (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX ix_processed_events_received ON processed_events (received_at);

-- accounts_0004: KYC ('rejected'), versions (checked by triggers), the bank_accounts guard
-- (11th open account, KYC for opening other than checking/savings and for credit on cards
-- and loans), login throttling per (email, address) with the per-email ceiling and known
-- addresses, the refresh-token family's absolute end. (accounts_0002's login_attempts, keyed
-- on the email alone, is replaced by the one below.)
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
