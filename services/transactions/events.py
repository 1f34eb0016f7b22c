"""Events the ledger publishes and the account events it applies."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from .ledger.accounts import open_customer_account, set_status
from .money import to_minor

# The preferences service raises notifications (low balance, large transaction) from these.
EVENT_ROUTES = {
    "transfer.posted": ("preferences",),
}


def on_account_opened(session: Session, data: dict) -> None:
    currency = data["currency"].upper()
    # Exact in minor units is enough here ("0.00" JPY is 0); the API's stricter text rule is for clients.
    overdraft = to_minor(Decimal(str(data.get("overdraft_limit") or "0")), currency)
    open_customer_account(session, data["account_id"], data["customer_id"], currency,
                          overdraft_limit=overdraft, status=data.get("status", "active"))


def on_account_status_changed(session: Session, data: dict) -> None:
    set_status(session, data["account_id"], data["status"])


def on_account_closed(session: Session, data: dict) -> None:
    set_status(session, data["account_id"], "closed")


HANDLERS = {
    "account.opened": on_account_opened,
    "account.status_changed": on_account_status_changed,
    "account.closed": on_account_closed,
}
