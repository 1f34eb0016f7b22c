"""Postings partitioned by month (filled in by the partitioning work).

Revision ID: transactions_0011
Revises: transactions_0010
Create Date: 2026-12-02
"""
from alembic import op  # noqa: F401

revision = "transactions_0011"
down_revision = "transactions_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
