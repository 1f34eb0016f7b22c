"""Raising notifications from ledger events, following each customer's settings.

Idempotency without transactions: every notification carries an `event_key` built from
the event id, the rule and the account or customer it concerns, and a unique index on it
makes a second insert fail. A redelivered event, or one delivered twice at once, raises
each notification once whatever the order of the writes.
"""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo

from pymongo.database import Database

from .documents import DocumentKind, read_document
from .event_batch import current_batch
from .inbox import add_notification, utc_now


def quiet_until(now: datetime, quiet: dict[str, Any]) -> datetime | None:
    """The end of the quiet window `now` falls in (UTC), or None outside quiet hours."""
    if not quiet.get("enabled"):
        return None
    start, end = (time.fromisoformat(quiet[k]) for k in ("start", "end"))
    if start == end:
        return None  # an empty window
    zone = ZoneInfo(quiet["timezone"])
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= clock < end, local.date()
    elif clock >= start:
        inside, end_day = True, local.date() + timedelta(days=1)
    else:
        inside, end_day = clock < end, local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo)


def alerts_for_transfer(transfer: dict[str, Any], settings_of: Callable[[str], dict]) -> list[dict]:
    """The notifications a posted transfer raises, before delivery details: pure rules.

    Low balance is per account (each posting); large and suspicious are once per customer.
    """
    raised: list[dict] = []
    for posting in transfer["postings"]:
        customer_id = posting["customer_id"]
        if not customer_id:
            continue  # the bank's own accounts
        rules = settings_of(customer_id)["events"]
        facts = {"transfer_id": transfer["transfer_id"], "account_id": posting["account_id"],
                 "amount": str(posting["amount"]), "currency": posting["currency"],
                 "balance_after": str(posting["balance_after"])}
        candidates = [_low_balance(posting, rules["low_balance"], facts),
                      _large_transaction(posting, rules["large_transaction"], facts),
                      _suspicious(transfer, rules["suspicious_activity"], facts)]
        for alert in filter(None, candidates):
            alert["customer_id"] = customer_id
            alert["subject"] = alert["subject"] or customer_id
            if not any(a["kind"] == alert["kind"] and a["subject"] == alert["subject"]
                       for a in raised):
                raised.append(alert)
    return raised


def _low_balance(posting: dict, rule: dict, facts: dict) -> dict | None:
    """Only when this posting crosses the threshold, so later small debits stay quiet."""
    after, threshold = posting["balance_after"], Decimal(rule["threshold"])
    before = after - posting["amount"]
    if not (rule["enabled"] and after < threshold <= before):
        return None
    currency, data = posting["currency"], {**facts, "threshold": rule["threshold"]}
    return make_alert("low_balance", posting["account_id"], rule, data, "Low balance",
                      f"Your balance is {after} {currency}, below your alert threshold of "
                      f"{rule['threshold']} {currency}.")


def _large_transaction(posting: dict, rule: dict, facts: dict) -> dict | None:
    """Strictly over the threshold, as low balance is strictly under its own."""
    amount = abs(posting["amount"])
    if not (rule["enabled"] and amount > Decimal(rule["threshold"])):
        return None
    return make_alert("large_transaction", None, rule, {**facts, "threshold": rule["threshold"]},
                      "Large transaction",
                      f"A transaction of {amount} {posting['currency']} was posted to your "
                      f"account.")


def _suspicious(transfer: dict, rule: dict, facts: dict) -> dict | None:
    if not (rule["enabled"] and "suspicious" in transfer["flags"]):
        return None
    return make_alert("suspicious_activity", None, rule, facts, "Suspicious activity",
                      "A transfer on your account was flagged for review. "
                      "Contact us if it was not you.")


def make_alert(kind: str, subject: str | None, rule: dict, data: dict, title: str,
               message: str) -> dict[str, Any]:
    # subject: what the alert is about within the event (an account; None = the customer).
    return {"kind": kind, "subject": subject, "channels": list(rule["channels"]), "data": data,
            "title": title, "message": message}


def settings_reader(db: Database, settings_kind: DocumentKind) -> Callable[[str], dict]:
    """Each customer's notification settings, read once per event (or per batch of events:
    event_batch.py)."""
    cache: dict[str, dict] = {}
    batch = current_batch()

    def settings_of(customer_id: str) -> dict:
        if customer_id not in cache:
            if batch is not None and customer_id in batch.settings:
                cache[customer_id] = batch.settings[customer_id].body
            else:
                cache[customer_id] = read_document(db, settings_kind, customer_id).body
        return cache[customer_id]
    return settings_of


def store_alerts(db: Database, alerts: list[dict], event_id: str,
                 settings_of: Callable[[str], dict], now: datetime) -> int:
    """Store each alert once per (event, kind, subject), deferred past quiet hours."""
    created = 0
    for alert in alerts:
        deferred_to = quiet_until(now, settings_of(alert["customer_id"])["quiet_hours"])
        subject = alert.pop("subject")
        notification = {
            "_id": str(uuid.uuid4()),
            "event_key": f"{event_id}:{alert['kind']}:{subject}",
            **alert,
            "delivery": {"status": "deferred" if deferred_to else "pending",
                         "deliver_after": deferred_to or now},
            "created_at": now, "read_at": None,
        }
        created += add_notification(db, notification)
    return created


def raise_transfer_alerts(db: Database, settings_kind: DocumentKind, transfer: dict[str, Any],
                          event_id: str, now: datetime | None = None) -> int:
    """Store the notifications for one `transfer.posted` event; returns how many are new."""
    settings_of = settings_reader(db, settings_kind)
    return store_alerts(db, alerts_for_transfer(transfer, settings_of), event_id, settings_of,
                        now or utc_now())
