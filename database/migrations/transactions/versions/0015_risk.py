"""Risk: the rules admins set (with their audit trail), the decisions the rules made, the
review queue, and the payees and countries each customer has paid (API.md "Risk: rules and
reviews"; services/transactions/domain/risk/).

- risk_rules: one row per rule code, seeded with the defaults a retail bank starts with;
  every change is appended to risk_rule_changes (who, when, what) by trigger, so the trail
  cannot be skipped by any writer;
- risk_decisions: append-only, one row per transfer the rules hit (flag, review, reject);
- risk_reviews: a transfer held for review, its request, its hold; open -> approved or
  rejected once, by an admin, never back (trigger risk_reviews_guard);
- risk_payees: (customer, payee) first paid, and the payee's country for external IBANs;
  what new_payee_large and unusual_country read, by primary key and index, not the ledger;
- data_quality_runs: the data-quality report's runs (ledger/quality.py);
- two indexes on journal_entries for the velocity and duplicate rules' window queries.

Revision ID: transactions_0015
Revises: transactions_0014
Create Date: 2026-12-03
"""
from alembic import op

revision = "transactions_0015"
down_revision = "transactions_0014"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE risk_rules (
    code        text PRIMARY KEY CONSTRAINT risk_rule_code CHECK (code IN (
                    'large_amount', 'velocity_count', 'velocity_amount', 'new_payee_large',
                    'duplicate_transfer', 'unusual_country')),
    enabled     boolean NOT NULL,
    action      text NOT NULL CONSTRAINT risk_rule_action CHECK (action IN ('flag', 'review', 'reject')),
    params      jsonb NOT NULL CONSTRAINT risk_rule_params CHECK (jsonb_typeof(params) = 'object'),
    updated_by  text NOT NULL DEFAULT 'migration',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE risk_rule_changes (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL REFERENCES risk_rules (code),
    enabled     boolean NOT NULL,
    action      text NOT NULL,
    params      jsonb NOT NULL,
    changed_by  text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION risk_rules_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO risk_rule_changes (code, enabled, action, params, changed_by, changed_at)
    VALUES (NEW.code, NEW.enabled, NEW.action, NEW.params, NEW.updated_by, NEW.updated_at);
    RETURN NEW;
END $$;
CREATE TRIGGER risk_rules_audit AFTER INSERT OR UPDATE ON risk_rules
    FOR EACH ROW EXECUTE FUNCTION risk_rules_audit();

CREATE FUNCTION risk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER risk_rule_changes_append_only BEFORE UPDATE OR DELETE ON risk_rule_changes
    FOR EACH ROW EXECUTE FUNCTION risk_append_only();
CREATE TRIGGER risk_rules_not_deleted BEFORE DELETE ON risk_rules
    FOR EACH ROW EXECUTE FUNCTION risk_append_only();

INSERT INTO risk_rules (code, enabled, action, params) VALUES
    ('large_amount', true, 'review', '{"limit": "10000.00", "currency": "EUR"}'),
    ('velocity_count', true, 'flag', '{"count": 20, "window_seconds": 3600}'),
    ('velocity_amount', true, 'review', '{"amount": "25000.00", "currency": "EUR", "window_seconds": 86400}'),
    ('new_payee_large', true, 'review', '{"limit": "2000.00", "currency": "EUR"}'),
    ('duplicate_transfer', true, 'flag', '{"window_seconds": 600}'),
    ('unusual_country', true, 'flag', '{}');

CREATE TABLE risk_decisions (
    id           bigserial PRIMARY KEY,
    transfer_id  uuid NOT NULL,
    customer_id  text NOT NULL,
    outcome      text NOT NULL CONSTRAINT risk_decision_outcome CHECK (outcome IN ('flag', 'review', 'reject')),
    rules        text[] NOT NULL CONSTRAINT risk_decision_rules CHECK (cardinality(rules) >= 1),
    amount       bigint NOT NULL CONSTRAINT risk_decision_amount CHECK (amount > 0),
    currency     char(3) NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_risk_decisions_created ON risk_decisions (created_at);
CREATE INDEX ix_risk_decisions_customer ON risk_decisions (customer_id, created_at);
CREATE TRIGGER risk_decisions_append_only BEFORE UPDATE OR DELETE ON risk_decisions
    FOR EACH ROW EXECUTE FUNCTION risk_append_only();

CREATE TABLE risk_reviews (
    id               uuid PRIMARY KEY,
    transfer_id      uuid NOT NULL UNIQUE,
    customer_id      text NOT NULL,
    from_account_id  text NOT NULL REFERENCES ledger_accounts (id),
    amount           bigint NOT NULL CONSTRAINT risk_review_amount CHECK (amount > 0),
    currency         char(3) NOT NULL,
    rules            text[] NOT NULL CONSTRAINT risk_review_rules CHECK (cardinality(rules) >= 1),
    request          jsonb NOT NULL,
    hold_id          uuid NOT NULL UNIQUE REFERENCES holds (id),
    status           text NOT NULL DEFAULT 'open'
                         CONSTRAINT risk_review_status CHECK (status IN ('open', 'approved', 'rejected')),
    decided_by       text,
    decided_at       timestamptz,
    entry_id         uuid REFERENCES journal_entries (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT risk_review_decided CHECK ((status = 'open') = (decided_by IS NULL)
                                          AND (status = 'open') = (decided_at IS NULL)
                                          AND (status = 'approved') = (entry_id IS NOT NULL))
);
CREATE INDEX ix_risk_reviews_status ON risk_reviews (status, created_at, id);

-- A decision is final: only open -> approved or rejected, once; nothing else changes.
CREATE FUNCTION risk_reviews_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a risk review is never deleted' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status <> 'open' THEN
        RAISE EXCEPTION 'risk review %: % is final', OLD.id, OLD.status USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.id, NEW.transfer_id, NEW.customer_id, NEW.from_account_id, NEW.amount, NEW.currency, NEW.rules,
        NEW.request, NEW.hold_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.transfer_id, OLD.customer_id, OLD.from_account_id, OLD.amount, OLD.currency, OLD.rules,
        OLD.request, OLD.hold_id, OLD.created_at) THEN
        RAISE EXCEPTION 'risk review %: only its decision changes', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER risk_reviews_guard BEFORE UPDATE OR DELETE ON risk_reviews
    FOR EACH ROW EXECUTE FUNCTION risk_reviews_guard();

CREATE TABLE risk_payees (
    customer_id  text NOT NULL,
    payee        text NOT NULL,
    country      char(2),
    first_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, payee)
);
CREATE INDEX ix_risk_payees_country ON risk_payees (customer_id, country) WHERE country IS NOT NULL;

-- What the customers have paid so far (a ledger written before this migration).
INSERT INTO risk_payees (customer_id, payee, country, first_at)
SELECT substr(e.initiated_by, 10), coalesce(x.iban, e.to_account_id), min(x.country), min(e.created_at)
  FROM journal_entries e LEFT JOIN external_transfers x ON x.entry_id = e.id
 WHERE e.kind IN ('transfer', 'external_transfer') AND e.initiated_by LIKE 'customer:%'
 GROUP BY 1, 2
ON CONFLICT DO NOTHING;

-- The data-quality report (ledger/quality.py): each run's checks, the last shown with its age.
CREATE TABLE data_quality_runs (
    id            bigserial PRIMARY KEY,
    generated_at  timestamptz NOT NULL,
    checks        jsonb NOT NULL CONSTRAINT data_quality_checks CHECK (jsonb_typeof(checks) = 'array'),
    duration_ms   integer NOT NULL CONSTRAINT data_quality_duration CHECK (duration_ms >= 0)
);
CREATE INDEX ix_data_quality_runs_generated ON data_quality_runs (generated_at DESC);

-- Migration 0005 added this NOT VALID (enforced on every change since); the data-quality
-- report's validity dimension wants every constraint to hold for every row: validate it.
ALTER TABLE ledger_accounts VALIDATE CONSTRAINT closed_account_is_empty;

CREATE INDEX ix_journal_entries_initiator ON journal_entries (initiated_by, created_at) INCLUDE (amount, currency, kind);
CREATE INDEX ix_journal_entries_source ON journal_entries (from_account_id, created_at) INCLUDE (amount, to_account_id);
"""

DOWNGRADE = r"""
DROP INDEX ix_journal_entries_source;
DROP TABLE data_quality_runs;
DROP INDEX ix_journal_entries_initiator;
DROP TABLE risk_payees;
DROP TABLE risk_reviews;
DROP FUNCTION risk_reviews_guard();
DROP TABLE risk_decisions;
DROP TABLE risk_rule_changes;
DROP TABLE risk_rules;
DROP FUNCTION risk_rules_audit();
DROP FUNCTION risk_append_only();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
