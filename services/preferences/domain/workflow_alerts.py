"""Notifications from the ledger's automated workflows and risk rules: a scheduled transfer
that failed, a bill coming due or overdue, reward points earned, a transfer flagged, held
for review or refused (suspicious_activity). Each follows the customer's rule for it
(enabled, channels) and quiet hours, once per event (store_alerts keys on the event id)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.database import Database

from .alerts import make_alert, settings_reader, store_alerts
from .documents import DocumentKind
from .inbox import utc_now


@dataclass(frozen=True)
class WorkflowAlert:
    kind: str          # the notification's kind
    rule: str          # the customer's setting that governs it
    subject: str       # the payload field the alert is about
    title: str
    message: str       # str.format over the payload


ALERTS = {
    "scheduled_transfer.failed": WorkflowAlert(
        "scheduled_transfer_failed", "scheduled_transfer_failed", "schedule_id", "Scheduled transfer failed",
        "Your scheduled transfer of {amount} {currency} due {run_date} did not go through ({error_code}). "
        "It will not be retried; the next date runs as planned."),
    "bill.due": WorkflowAlert(
        "bill_due", "bill_due", "bill_id", "Bill due soon",
        "Your bill from {biller_name} for {amount_due} {currency} is due on {due_date}."),
    "bill.overdue": WorkflowAlert(
        "bill_overdue", "bill_due", "bill_id", "Bill overdue",
        "Your bill from {biller_name} for {amount_due} {currency} was due on {due_date} and is not paid."),
    "rewards.earned": WorkflowAlert(
        "rewards_earned", "rewards_earned", "transfer_id", "Reward points earned",
        "You earned {points} points; your balance is {points_balance} points."),
    "budget.exceeded": WorkflowAlert(
        "budget_exceeded", "budget_exceeded", "budget_id", "Budget exceeded",
        "You have spent {spent} {currency} on {category} in {month}, past your budget of {limit} {currency}."),
    # The ledger's risk rules (one suspicious_activity setting governs the three).
    "transfer.flagged": WorkflowAlert(
        "suspicious_activity", "suspicious_activity", "transfer_id", "Unusual activity",
        "Your transfer of {amount} {currency} went through and was flagged ({rules}). "
        "Contact us if it was not you."),
    "transfer.review": WorkflowAlert(
        "suspicious_activity", "suspicious_activity", "transfer_id", "Transfer held for review",
        "Your transfer of {amount} {currency} is held for review ({rules}); the amount is on hold "
        "until we decide. Contact us if it was not you."),
    "transfer.rejected": WorkflowAlert(
        "suspicious_activity", "suspicious_activity", "transfer_id", "Transfer refused",
        "Your transfer of {amount} {currency} was refused by our security checks ({rules}). "
        "Contact us if it was not you."),
}


def workflow_alert(event_type: str, payload: dict[str, Any], rules: dict) -> dict[str, Any] | None:
    """The notification an event raises under the customer's rules (None: they do not want
    it): pure."""
    spec = ALERTS[event_type]
    rule = rules[spec.rule]
    if not rule["enabled"]:
        return None
    details = {name: value for name, value in payload.items() if name != "customer_id"}
    alert = make_alert(spec.kind, str(payload.get(spec.subject)), rule, details, spec.title,
                       spec.message.format_map(_Missing(payload)))
    alert["customer_id"] = payload["customer_id"]
    return alert


class _Missing(dict):
    """format_map that leaves an absent field empty instead of failing the event."""

    def __missing__(self, key: str) -> str:
        return ""


def raise_workflow_alert(db: Database, settings_kind: DocumentKind, event_type: str, payload: dict[str, Any],
                         event_id: str, now: datetime | None = None) -> int:
    settings_of = settings_reader(db, settings_kind)
    alert = workflow_alert(event_type, payload, settings_of(payload["customer_id"])["events"])
    return store_alerts(db, [alert] if alert else [], event_id, settings_of, now or utc_now())
