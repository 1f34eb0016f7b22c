"""The runner's results by time: an index on scheduled_runs.created_at, so /metrics can count
the last day's runs by status and code at every scrape (services/transactions/metrics.py)
without reading the whole append-only table.

Revision ID: transactions_0017
Revises: transactions_0016
Create Date: 2026-12-04
"""
from alembic import op

revision = "transactions_0017"
down_revision = "transactions_0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_scheduled_runs_created_at ON scheduled_runs (created_at)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_scheduled_runs_created_at")
