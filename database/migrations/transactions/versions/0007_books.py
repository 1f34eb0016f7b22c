"""The bank's books: FX rates with history, the fee schedule, the chart of accounts, manual
journal entries and fiscal periods.

What the database refuses (the app checks first; these make a bug or a stray statement by
the app role fail instead of bending the books):
- FX rate records and fee schedule rows are history: never updated or deleted (triggers);
  a rate is NUMERIC and > 0, a fee percent between 0 and 100, a minimum >= 0 (CHECKs).
- The chart: a leaf (`1100-EUR`) names its currency in its code and has its parent's type;
  only an account's name may change, and no account is deleted.
- Manual journal entries: created as `draft`; the only state changes are draft -> posted
  and draft -> voided; nothing else about an entry changes, and lines never change. Lines
  go only to leaves of the chart in the leaf's currency, never to the customer deposits
  control accounts, and only while the entry is a draft. At commit every entry has two or
  more lines and its debits equal its credits per currency (deferred constraint trigger,
  verified by the entry's last line like the ledger's postings).
- Fiscal periods never overlap (exclusion constraint); closing is final, allowed only after
  the period's last day (UTC), so a ledger posting, always dated now, never falls into a
  closed period; an entry is created or posted with an effective date inside a closed
  period never (trigger, constraint name period_closed; the period rows are locked FOR
  SHARE, so a concurrent close waits for the posting or the posting sees the close).

The chart is seeded with its headers and a leaf per family for the demo currencies and for
every currency the ledger already holds (the service adds leaves for new currencies,
books/chart.py, from the same definitions).

Revision ID: transactions_0007
Revises: transactions_0006
Create Date: 2026-12-01
"""
from alembic import op

revision = "transactions_0007"
down_revision = "transactions_0006"
branch_labels = None
depends_on = None

# (code, name, type, parent_code): the header accounts, a copy of books/chart.py HEADERS
# frozen at this revision.
HEADERS = [
    ("1000", "Assets", "asset", None),
    ("1100", "Settlement accounts", "asset", "1000"),
    ("1300", "FX clearing", "asset", "1000"),
    ("1900", "Suspense", "asset", "1000"),
    ("2000", "Liabilities", "liability", None),
    ("2100", "Customer deposits", "liability", "2000"),
    ("2200", "Outgoing payments clearing", "liability", "2000"),
    ("3000", "Equity", "equity", None),
    ("3100", "Share capital", "equity", "3000"),
    ("3200", "Retained earnings", "equity", "3000"),
    ("4000", "Revenue", "revenue", None),
    ("4100", "Fee income", "revenue", "4000"),
    ("4200", "FX income", "revenue", "4000"),
    ("5000", "Expenses", "expense", None),
    ("5100", "Rewards expense", "expense", "5000"),
    ("5200", "Operating expenses", "expense", "5000"),
]
# (family code, ledger kind or None): the headers that get one leaf per currency.
FAMILIES = [
    ("1100", "settlement"), ("1300", "fx_clearing"), ("1900", None), ("2100", "customer"),
    ("2200", "outgoing_clearing"), ("3100", None), ("3200", None), ("4100", "fees"), ("4200", None),
    ("5100", "rewards"), ("5200", None),
]
SEED_CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY", "SEK", "PLN", "BHD"]


def _sql_text(value):
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


UPGRADE = r"""
CREATE FUNCTION books_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are history: never updated or deleted; add a new one', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

-- FX rates -----------------------------------------------------------------------------
CREATE TABLE fx_rates (
    id             bigserial PRIMARY KEY,
    base           char(3) NOT NULL CONSTRAINT fx_base_code CHECK (base ~ '^[A-Z]{3}$'),
    quote          char(3) NOT NULL CONSTRAINT fx_quote_code CHECK (quote ~ '^[A-Z]{3}$'),
    -- Exact: 10 integer digits and 12 decimals, never a float.
    rate           numeric(22, 12) NOT NULL CONSTRAINT fx_rate_positive CHECK (rate > 0),
    effective_from timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by     text NOT NULL,
    CONSTRAINT fx_pair_of_two_currencies CHECK (base <> quote)
);
-- The rate in force for a pair at a time, and a pair's history, newest first.
CREATE INDEX ix_fx_rates_pair ON fx_rates (base, quote, effective_from DESC, id DESC);
-- The opposite pairs of a base (served inverted).
CREATE INDEX ix_fx_rates_quote ON fx_rates (quote, base, effective_from DESC, id DESC);
CREATE TRIGGER fx_rates_append_only BEFORE UPDATE OR DELETE ON fx_rates
    FOR EACH ROW EXECUTE FUNCTION books_refuse_change();

-- Fee schedule -------------------------------------------------------------------------
CREATE TABLE fee_schedule (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL CONSTRAINT fee_kind CHECK (kind IN ('fx', 'external', 'international')),
    percent    numeric(7, 4) NOT NULL CONSTRAINT fee_percent_range CHECK (percent >= 0 AND percent <= 100),
    minimum    bigint NOT NULL CONSTRAINT fee_minimum_not_negative CHECK (minimum >= 0),
    currency   char(3) NOT NULL CONSTRAINT fee_currency_code CHECK (currency ~ '^[A-Z]{3}$'),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by text NOT NULL
);
-- The newest row per (kind, currency) is in force.
CREATE INDEX ix_fee_schedule_in_force ON fee_schedule (kind, currency, id DESC);
CREATE TRIGGER fee_schedule_append_only BEFORE UPDATE OR DELETE ON fee_schedule
    FOR EACH ROW EXECUTE FUNCTION books_refuse_change();

-- Chart of accounts ----------------------------------------------------------------------
CREATE TABLE chart_accounts (
    code        text PRIMARY KEY CONSTRAINT chart_code_shape CHECK (code ~ '^[0-9]{4}(-[A-Z]{3})?$'),
    name        text NOT NULL,
    type        text NOT NULL CONSTRAINT chart_account_type
                    CHECK (type IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    parent_code text REFERENCES chart_accounts (code),
    currency    char(3),
    -- Leaves that hold the ledger's accounts of this kind in their currency.
    ledger_kind text,
    CONSTRAINT chart_leaf_names_its_currency
        CHECK ((currency IS NULL AND code !~ '-') OR code = substr(code, 1, 4) || '-' || currency),
    CONSTRAINT chart_leaf_has_parent CHECK (currency IS NULL OR parent_code = substr(code, 1, 4)),
    CONSTRAINT chart_ledger_kind_on_leaves CHECK (ledger_kind IS NULL OR currency IS NOT NULL)
);
CREATE UNIQUE INDEX ux_chart_ledger_kind ON chart_accounts (ledger_kind, currency) WHERE ledger_kind IS NOT NULL;

CREATE FUNCTION books_chart_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'chart accounts are never deleted (%)', OLD.code
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.code, NEW.type, NEW.parent_code, NEW.currency, NEW.ledger_kind)
            IS DISTINCT FROM (OLD.code, OLD.type, OLD.parent_code, OLD.currency, OLD.ledger_kind) THEN
        RAISE EXCEPTION 'only the name of chart account % may change', OLD.code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'chart_account_fixed';
    END IF;
    IF NEW.parent_code IS NOT NULL AND NEW.type IS DISTINCT FROM
            (SELECT type FROM chart_accounts WHERE code = NEW.parent_code) THEN
        RAISE EXCEPTION 'chart account % must have the type of its parent %', NEW.code, NEW.parent_code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'chart_type_of_parent';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER chart_accounts_guard BEFORE INSERT OR UPDATE OR DELETE ON chart_accounts
    FOR EACH ROW EXECUTE FUNCTION books_chart_guard();

-- Fiscal periods ---------------------------------------------------------------------------
CREATE TABLE fiscal_periods (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    start_date date NOT NULL,
    end_date   date NOT NULL,
    status     text NOT NULL DEFAULT 'open' CONSTRAINT fiscal_period_status CHECK (status IN ('open', 'closed')),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by text NOT NULL,
    closed_at  timestamptz,
    closed_by  text,
    CONSTRAINT period_dates_in_order CHECK (start_date <= end_date),
    CONSTRAINT period_closed_when_stamped CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CONSTRAINT period_overlaps EXCLUDE USING gist (daterange(start_date, end_date, '[]') WITH &&)
);

CREATE FUNCTION books_period_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'fiscal periods are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'open' THEN
            RAISE EXCEPTION 'a fiscal period starts open'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'period_starts_open';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.name, NEW.start_date, NEW.end_date, NEW.created_at, NEW.created_by)
            IS DISTINCT FROM (OLD.id, OLD.name, OLD.start_date, OLD.end_date, OLD.created_at, OLD.created_by)
       OR OLD.status = 'closed' THEN
        RAISE EXCEPTION 'fiscal period %: only open -> closed may change', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'period_close_only';
    END IF;
    IF NEW.status = 'closed' AND NEW.end_date >= (now() AT TIME ZONE 'UTC')::date THEN
        RAISE EXCEPTION 'fiscal period % has not ended yet', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'period_not_ended';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fiscal_periods_guard BEFORE INSERT OR UPDATE OR DELETE ON fiscal_periods
    FOR EACH ROW EXECUTE FUNCTION books_period_guard();

-- Refuses a date inside a closed period. FOR SHARE: a close of that period (an UPDATE of
-- its row) waits for this transaction, or this one waits for the close and sees it.
CREATE FUNCTION books_refuse_closed_period(effective date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    period record;
BEGIN
    FOR period IN SELECT id, status FROM fiscal_periods
                   WHERE start_date <= effective AND end_date >= effective FOR SHARE LOOP
        IF period.status = 'closed' THEN
            RAISE EXCEPTION 'the fiscal period holding % is closed', effective
                USING ERRCODE = 'check_violation', CONSTRAINT = 'period_closed';
        END IF;
    END LOOP;
END $$;

-- Manual journal entries -----------------------------------------------------------------------
CREATE TABLE manual_journal_entries (
    id             uuid PRIMARY KEY,
    description    text NOT NULL,
    effective_date date NOT NULL,
    status         text NOT NULL DEFAULT 'draft' CONSTRAINT manual_entry_status
                       CHECK (status IN ('draft', 'posted', 'voided')),
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by     text NOT NULL,
    posted_at      timestamptz,
    posted_by      text,
    voided_at      timestamptz,
    voided_by      text,
    request_id     text,
    CONSTRAINT manual_entry_posted_stamp CHECK ((status = 'posted') = (posted_at IS NOT NULL)),
    CONSTRAINT manual_entry_voided_stamp CHECK ((status = 'voided') = (voided_at IS NOT NULL))
);
CREATE INDEX ix_manual_entries_created ON manual_journal_entries (created_at DESC, id DESC);
CREATE INDEX ix_manual_entries_posted ON manual_journal_entries (effective_date) WHERE status = 'posted';

CREATE TABLE manual_journal_lines (
    id           bigserial PRIMARY KEY,
    entry_id     uuid NOT NULL REFERENCES manual_journal_entries (id),
    line_no      integer NOT NULL,
    account_code text NOT NULL REFERENCES chart_accounts (code),
    currency     char(3) NOT NULL,
    debit        bigint NOT NULL DEFAULT 0 CONSTRAINT line_debit_not_negative CHECK (debit >= 0),
    credit       bigint NOT NULL DEFAULT 0 CONSTRAINT line_credit_not_negative CHECK (credit >= 0),
    CONSTRAINT line_is_debit_or_credit CHECK ((debit > 0) <> (credit > 0)),
    CONSTRAINT line_number_once UNIQUE (entry_id, line_no)
);
CREATE INDEX ix_manual_lines_account ON manual_journal_lines (account_code);

CREATE FUNCTION books_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'journal entries are never deleted; void a draft' USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'draft' OR NEW.posted_at IS NOT NULL OR NEW.voided_at IS NOT NULL THEN
            RAISE EXCEPTION 'a journal entry starts as a draft'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_starts_draft';
        END IF;
        PERFORM books_refuse_closed_period(NEW.effective_date);
        RETURN NEW;
    END IF;
    IF OLD.status <> 'draft' OR NEW.status = 'draft'
       OR (NEW.id, NEW.description, NEW.effective_date, NEW.created_at, NEW.created_by, NEW.request_id)
          IS DISTINCT FROM (OLD.id, OLD.description, OLD.effective_date, OLD.created_at, OLD.created_by,
                            OLD.request_id) THEN
        RAISE EXCEPTION 'journal entry % (%): only a draft is posted or voided, nothing else changes',
            OLD.id, OLD.status USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_state_change';
    END IF;
    IF NEW.status = 'posted' THEN
        PERFORM books_refuse_closed_period(NEW.effective_date);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER manual_journal_entries_guard BEFORE INSERT OR UPDATE OR DELETE ON manual_journal_entries
    FOR EACH ROW EXECUTE FUNCTION books_entry_guard();

CREATE FUNCTION books_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account chart_accounts;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'journal lines are never updated or deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF (SELECT status FROM manual_journal_entries WHERE id = NEW.entry_id) IS DISTINCT FROM 'draft' THEN
        RAISE EXCEPTION 'lines are added only to a draft entry'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'lines_on_drafts_only';
    END IF;
    SELECT * INTO account FROM chart_accounts WHERE code = NEW.account_code;
    IF account.currency IS NULL THEN
        RAISE EXCEPTION 'chart account % is a header: lines go to its leaves', NEW.account_code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'line_on_leaf_account';
    END IF;
    IF account.currency <> NEW.currency THEN
        RAISE EXCEPTION 'chart account % holds %, not %', NEW.account_code, account.currency, NEW.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'line_in_account_currency';
    END IF;
    IF account.ledger_kind = 'customer' THEN
        RAISE EXCEPTION 'customer accounts take no manual lines (%)', NEW.account_code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'no_manual_customer_lines';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER manual_journal_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON manual_journal_lines
    FOR EACH ROW EXECUTE FUNCTION books_line_guard();

CREATE FUNCTION books_verify_entry(entry uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM manual_journal_lines WHERE entry_id = entry) < 2 THEN
        RAISE EXCEPTION 'journal entry % has fewer than two lines', entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'manual_entry_has_lines';
    END IF;
    IF EXISTS (SELECT 1 FROM manual_journal_lines WHERE entry_id = entry
               GROUP BY currency HAVING sum(debit) <> sum(credit)) THEN
        RAISE EXCEPTION 'journal entry % does not balance', entry
            USING ERRCODE = 'check_violation', CONSTRAINT = 'unbalanced_entry';
    END IF;
END $$;

CREATE FUNCTION books_check_new_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The entry's last line verifies it whole, whenever that check fires.
    IF NEW.id = (SELECT max(id) FROM manual_journal_lines WHERE entry_id = NEW.entry_id) THEN
        PERFORM books_verify_entry(NEW.entry_id);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER manual_lines_balanced AFTER INSERT ON manual_journal_lines
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION books_check_new_line();

CREATE FUNCTION books_check_new_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM manual_journal_lines WHERE entry_id = NEW.id) THEN
        RAISE EXCEPTION 'journal entry % has fewer than two lines', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'manual_entry_has_lines';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER manual_entry_has_lines AFTER INSERT ON manual_journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION books_check_new_entry();
"""

DOWNGRADE = r"""
DROP TABLE manual_journal_lines;
DROP TABLE manual_journal_entries;
DROP FUNCTION books_check_new_entry();
DROP FUNCTION books_check_new_line();
DROP FUNCTION books_verify_entry(uuid);
DROP FUNCTION books_line_guard();
DROP FUNCTION books_entry_guard();
DROP FUNCTION books_refuse_closed_period(date);
DROP TABLE fiscal_periods;
DROP FUNCTION books_period_guard();
DROP TABLE chart_accounts;
DROP FUNCTION books_chart_guard();
DROP TABLE fee_schedule;
DROP TABLE fx_rates;
DROP FUNCTION books_refuse_change();
"""


def _seed_chart() -> str:
    headers = ",\n".join(f"({_sql_text(c)}, {_sql_text(n)}, {_sql_text(t)}, {_sql_text(p)})"
                         for c, n, t, p in HEADERS)
    families = ",\n".join(f"({_sql_text(c)}, {_sql_text(k)})" for c, k in FAMILIES)
    currencies = ", ".join(_sql_text(c) for c in SEED_CURRENCIES)
    # Parents before children: the header list is in that order, inserted one by one.
    return f"""
    INSERT INTO chart_accounts (code, name, type, parent_code)
    SELECT code, name, type, parent_code FROM (VALUES {headers}) AS h(code, name, type, parent_code);
    INSERT INTO chart_accounts (code, name, type, parent_code, currency, ledger_kind)
    SELECT f.code || '-' || c.currency, h.name || ' ' || c.currency, h.type, f.code, c.currency, f.ledger_kind
      FROM (VALUES {families}) AS f(code, ledger_kind)
      JOIN chart_accounts h ON h.code = f.code
     CROSS JOIN (SELECT unnest(ARRAY[{currencies}]) AS currency
                 UNION SELECT DISTINCT currency::text FROM ledger_accounts) AS c
     ORDER BY 1;
    """


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(_seed_chart())


def downgrade() -> None:
    op.execute(DOWNGRADE)
