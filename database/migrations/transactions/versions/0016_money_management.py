"""Money management (API.md "Categories, rules, budgets, insights"; services/transactions/domain/insights/):

- postings.categorized_by: how a new statement line got its category (request, rule,
  default), written with the posting and, like it, never changed;
- category_rules: a customer's RE2 patterns on description and merchant, by priority;
- line_categories: a customer's re-categorisation of a line, an annotation beside the
  immutable posting (the statement shows it as categorized_by `customer`);
- spending_daily: what each customer account spent per UTC day, category and currency
  (money leaving to anyone else), kept by the posting transaction and by re-categorisation,
  so budgets and insights read at most a month of days rather than the postings;
- budgets (one per customer, month and category) and budget_alerts (a budget's crossing,
  once: its primary key).

Revision ID: transactions_0016
Revises: transactions_0015
Create Date: 2026-12-03
"""
from alembic import op

revision = "transactions_0016"
down_revision = "transactions_0015"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE postings ADD COLUMN categorized_by text
    CONSTRAINT posting_categorized_by CHECK (categorized_by IN ('request', 'rule', 'default'));

CREATE TABLE category_rules (
    id                   uuid PRIMARY KEY,
    customer_id          text NOT NULL,
    category             text NOT NULL REFERENCES categories (slug),
    description_pattern  text CONSTRAINT rule_description_length CHECK (length(description_pattern) BETWEEN 1 AND 256),
    merchant_pattern     text CONSTRAINT rule_merchant_length CHECK (length(merchant_pattern) BETWEEN 1 AND 256),
    priority             integer NOT NULL DEFAULT 0
                             CONSTRAINT rule_priority CHECK (priority BETWEEN -1000000 AND 1000000),
    active               boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rule_has_a_pattern CHECK (description_pattern IS NOT NULL OR merchant_pattern IS NOT NULL)
);
CREATE INDEX ix_category_rules_customer ON category_rules (customer_id, priority DESC, created_at, id);

CREATE TABLE line_categories (
    posting_id   bigint PRIMARY KEY,
    account_id   text NOT NULL REFERENCES ledger_accounts (id),
    category     text NOT NULL REFERENCES categories (slug),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE spending_daily (
    customer_id  text NOT NULL,
    day          date NOT NULL,
    category     text NOT NULL,
    account_id   text NOT NULL,
    currency     char(3) NOT NULL,
    amount       bigint NOT NULL CONSTRAINT spending_not_negative CHECK (amount >= 0),
    lines        integer NOT NULL CONSTRAINT spending_lines_not_negative CHECK (lines >= 0),
    PRIMARY KEY (customer_id, day, category, account_id, currency)
);

-- The spending of the postings already written (services/transactions/domain/insights/spending.py,
-- BACKFILL_SPENDING: the same rule). Lines keep the category they were posted with.
INSERT INTO spending_daily (customer_id, day, category, account_id, currency, amount, lines)
SELECT a.customer_id, CAST(e.created_at AT TIME ZONE 'UTC' AS date), coalesce(p.category, 'other'),
       p.account_id, p.currency, -sum(p.amount), count(*)
  FROM postings p
  JOIN ledger_accounts a ON a.id = p.account_id AND a.kind = 'customer'
  JOIN journal_entries e ON e.id = p.entry_id
 WHERE p.amount < 0
   AND NOT EXISTS (SELECT 1 FROM postings q JOIN ledger_accounts b ON b.id = q.account_id
                    WHERE q.entry_id = p.entry_id AND q.amount > 0 AND b.customer_id = a.customer_id)
 GROUP BY 1, 2, 3, 4, 5;

CREATE TABLE budgets (
    id            uuid PRIMARY KEY,
    customer_id   text NOT NULL,
    month         date NOT NULL CONSTRAINT budget_month_first_day CHECK (extract(day FROM month) = 1),
    category      text NOT NULL REFERENCES categories (slug),
    currency      char(3) NOT NULL,
    limit_amount  bigint NOT NULL CONSTRAINT budget_limit_positive CHECK (limit_amount > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budget_once_per_month_and_category UNIQUE (customer_id, month, category)
);

CREATE TABLE budget_alerts (
    budget_id  uuid PRIMARY KEY REFERENCES budgets (id) ON DELETE CASCADE,
    raised_at  timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = r"""
DROP TABLE budget_alerts;
DROP TABLE budgets;
DROP TABLE spending_daily;
DROP TABLE line_categories;
DROP TABLE category_rules;
ALTER TABLE postings DROP COLUMN categorized_by;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
