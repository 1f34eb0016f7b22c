"""Ledger check runs: the outcome of each integrity check, so the admin endpoint can show
the last one and its age instead of scanning a million entries on every call.

Revision ID: transactions_0006
Revises: transactions_0005
Create Date: 2026-12-01
"""
from alembic import op

revision = "transactions_0006"
down_revision = "transactions_0005"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE ledger_check_runs (
    id          bigserial PRIMARY KEY,
    checked_at  timestamptz NOT NULL,
    ok          boolean NOT NULL,
    violations  jsonb NOT NULL DEFAULT '[]',
    duration_ms integer NOT NULL CONSTRAINT duration_not_negative CHECK (duration_ms >= 0)
);
CREATE INDEX ix_ledger_check_runs_checked_at ON ledger_check_runs (checked_at DESC);
"""

DOWNGRADE = r"""
DROP TABLE ledger_check_runs;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
