"""Categories, category rules, budgets, spending aggregates, daily balances (filled in by the money-management work).

Revision ID: transactions_0012
Revises: transactions_0011
Create Date: 2026-12-02
"""
from alembic import op  # noqa: F401

revision = "transactions_0012"
down_revision = "transactions_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
