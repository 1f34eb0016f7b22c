"""The outbox relay's lease, dead letters and per-aggregate ordering; indexes for purge.

- `lease_until`: set when a relay claims a row (in flight until then). The claim also moves
  `next_attempt_at` to the same instant, so a row whose relay died is simply due again
  once its lease has expired; the outcome (delivered / backoff) clears the lease.
- `dead_lettered_at`: set after OUTBOX_MAX_ATTEMPTS failed deliveries; the relay no longer
  picks the row up until an admin replays it (which clears it).
- `aggregate_key`: the entity the event is about ('account:' data.account_id, else
  'customer:' data.customer_id; services.common.outbox.aggregate_key).
  The relay claims only the oldest undelivered row per (destination, aggregate_key), so a
  later event never overtakes an earlier one for the same account at the same receiver.
- indexes for the purge command (delivered rows and processed events by age).

Revision ID: accounts_0003
Revises: accounts_0002
Create Date: 2026-12-01
"""
from alembic import op

revision = "accounts_0003"
down_revision = "accounts_0002"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE outbox_events
  ADD COLUMN lease_until timestamptz,
  ADD COLUMN dead_lettered_at timestamptz,
  ADD COLUMN aggregate_key text,
  ADD CONSTRAINT ck_outbox_delivered_or_dead CHECK (delivered_at IS NULL OR dead_lettered_at IS NULL);
UPDATE outbox_events
   SET aggregate_key = coalesce('account:' || (payload->'data'->>'account_id'),
                                'customer:' || (payload->'data'->>'customer_id'))
 WHERE delivered_at IS NULL;
DROP INDEX ix_outbox_due;
-- The relay's claim: pending rows that are due.
CREATE INDEX ix_outbox_due ON outbox_events (next_attempt_at)
  WHERE delivered_at IS NULL AND dead_lettered_at IS NULL;
-- The claim's ordering test: is an older row for the same key still pending there?
CREATE INDEX ix_outbox_pending_key ON outbox_events (destination, aggregate_key, id)
  WHERE delivered_at IS NULL AND dead_lettered_at IS NULL AND aggregate_key IS NOT NULL;
CREATE INDEX ix_outbox_dead ON outbox_events (dead_lettered_at) WHERE dead_lettered_at IS NOT NULL;
CREATE INDEX ix_outbox_delivered ON outbox_events (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX ix_processed_events_received ON processed_events (received_at);
"""

DOWNGRADE = r"""
DROP INDEX ix_processed_events_received;
DROP INDEX ix_outbox_delivered;
DROP INDEX ix_outbox_dead;
DROP INDEX ix_outbox_pending_key;
DROP INDEX ix_outbox_due;
CREATE INDEX ix_outbox_due ON outbox_events (next_attempt_at) WHERE delivered_at IS NULL;
ALTER TABLE outbox_events
  DROP CONSTRAINT ck_outbox_delivered_or_dead,
  DROP COLUMN aggregate_key,
  DROP COLUMN dead_lettered_at,
  DROP COLUMN lease_until;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
