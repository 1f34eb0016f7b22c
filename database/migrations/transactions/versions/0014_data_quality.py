"""Data-quality report runs (filled in by the data-quality work).

Revision ID: transactions_0014
Revises: transactions_0013
Create Date: 2026-12-02
"""
from alembic import op  # noqa: F401

revision = "transactions_0014"
down_revision = "transactions_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
