"""Raising notifications from account events, and the account owners they need.

`account.opened` names the customer; `account.status_changed` and `account.closed` name
only the account, so the owner recorded from `account.opened` is looked up (an event that
carries `customer_id` itself is used as is). Ownership never changes, so the record is
written once and a redelivery leaves it alone.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from .alerts import make_alert, settings_reader, store_alerts
from .documents import DocumentKind
from .inbox import utc_now

RULE = "account_changes"
_TEXTS = {
    "account_opened": ("Account opened",
                       "A new {type} account in {currency} was opened in your name. "
                       "Contact us if it was not you."),
    "account_frozen": ("Account frozen",
                       "Your account was frozen: no money can leave it until it is unfrozen. "
                       "Contact us to find out why."),
    "account_unfrozen": ("Account unfrozen", "Your account is active again."),
    "account_closed": ("Account closed", "Your account was closed."),
}
KINDS = tuple(_TEXTS)


def remember_owner(db: Database, account_id: str, customer_id: str,
                   now: datetime | None = None) -> None:
    try:
        db.account_owners.update_one(
            {"_id": account_id},
            {"$setOnInsert": {"customer_id": customer_id, "recorded_at": now or utc_now()}},
            upsert=True)
    except DuplicateKeyError:
        pass  # a concurrent delivery of the same opening inserted it first


def owner_of(db: Database, account_id: str) -> str | None:
    found = db.account_owners.find_one({"_id": account_id}, {"customer_id": 1})
    return found["customer_id"] if found else None


def account_alert(kind: str, customer_id: str, account_id: str, rules: dict,
                  details: dict[str, str]) -> dict[str, Any] | None:
    """The notification an account event raises under the customer's rules: pure."""
    rule = rules[RULE]
    if not rule["enabled"]:
        return None
    title, message = _TEXTS[kind]
    alert = make_alert(kind, account_id, rule, {"account_id": account_id, **details}, title,
                       message.format(type=details.get("type", ""),
                                      currency=details.get("currency", "")))
    alert["customer_id"] = customer_id
    return alert


def raise_account_alert(db: Database, settings_kind: DocumentKind, kind: str, customer_id: str,
                        account_id: str, details: dict[str, str], event_id: str,
                        now: datetime | None = None) -> int:
    """Store the notification for one account event; returns 1 when it is new."""
    settings_of = settings_reader(db, settings_kind)
    alert = account_alert(kind, customer_id, account_id, settings_of(customer_id)["events"],
                          details)
    return store_alerts(db, [alert] if alert else [], event_id, settings_of, now or utc_now())
