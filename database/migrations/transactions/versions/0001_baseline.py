"""Baseline: the transactions service's event outbox and inbox.

Revision ID: transactions_0001
Revises:
Create Date: 2026-11-25
"""
from database.migrations.baseline_ops import create_outbox_and_inbox, drop_outbox_and_inbox

revision = "transactions_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_and_inbox()


def downgrade() -> None:
    drop_outbox_and_inbox()
