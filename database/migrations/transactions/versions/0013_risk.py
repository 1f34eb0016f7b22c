"""Risk rules, reviews, counters (filled in by the risk work).

Revision ID: transactions_0013
Revises: transactions_0012
Create Date: 2026-12-02
"""
from alembic import op  # noqa: F401

revision = "transactions_0013"
down_revision = "transactions_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
