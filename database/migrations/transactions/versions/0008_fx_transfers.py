"""Cross-currency transfers: the entry's header names the fee and what the target receives.

journal_entries gains `fee` (minor units of the entry's currency, charged on top of `amount`
and posted to the bank's fee income account in the same entry), `to_amount` and
`to_currency` (what the target account receives, when that is not `amount`/`currency`: a
conversion, or a reversal that gives a fee back) and `fx_rate` (exact, as shown to the
customer). The header convention: the source posts -(amount + fee) in `currency`, the target
+coalesce(to_amount, amount) in coalesce(to_currency, currency) (ledger/integrity.py checks
it); a plain two-posting entry keeps fee 0 and no to_*, so its header reads as before.
Added with constant defaults: no table rewrite. A new entry kind `card_capture` (a captured
hold, migration 0009).

Revision ID: transactions_0008
Revises: transactions_0007
Create Date: 2026-12-01
"""
from alembic import op

revision = "transactions_0008"
down_revision = "transactions_0007"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE journal_entries
    ADD COLUMN fee bigint NOT NULL DEFAULT 0 CONSTRAINT entry_fee_not_negative CHECK (fee >= 0),
    ADD COLUMN to_amount bigint CONSTRAINT entry_to_amount_positive CHECK (to_amount > 0),
    ADD COLUMN to_currency char(3),
    ADD COLUMN fx_rate numeric(22, 12) CONSTRAINT entry_fx_rate_positive CHECK (fx_rate > 0),
    ADD CONSTRAINT entry_to_amount_with_currency CHECK ((to_amount IS NULL) = (to_currency IS NULL)),
    DROP CONSTRAINT journal_entry_kind,
    ADD CONSTRAINT journal_entry_kind CHECK (kind IN ('transfer', 'deposit', 'reversal', 'card_capture'));
"""

DOWNGRADE = r"""
ALTER TABLE journal_entries
    DROP CONSTRAINT journal_entry_kind,
    ADD CONSTRAINT journal_entry_kind CHECK (kind IN ('transfer', 'deposit', 'reversal')),
    DROP CONSTRAINT entry_to_amount_with_currency,
    DROP COLUMN fx_rate,
    DROP COLUMN to_currency,
    DROP COLUMN to_amount,
    DROP COLUMN fee;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
