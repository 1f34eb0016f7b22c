"""Events the ledger publishes and the account events it applies."""
from __future__ import annotations

from .domain.ledger.events import ACCOUNT_HANDLERS

# The preferences service raises notifications (low balance, large transaction) from these.
EVENT_ROUTES = {
    "transfer.posted": ("preferences",),
    "scheduled_transfer.failed": ("preferences",),
    "bill.due": ("preferences",),
    "bill.overdue": ("preferences",),
    "rewards.earned": ("preferences",),
    "budget.exceeded": ("preferences",),
    # The risk rules' decisions: the preferences service raises suspicious_activity.
    "transfer.flagged": ("preferences",),
    "transfer.review": ("preferences",),
    "transfer.rejected": ("preferences",),
}

# Account and customer events from the accounts service, applied by version
# (domain/ledger/events.py, domain/ledger/account_sync.py).
HANDLERS = dict(ACCOUNT_HANDLERS)
