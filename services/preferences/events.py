"""Events this service consumes, by type: handlers for `store.receive_mongo_event`."""
from __future__ import annotations

import logging

import marshmallow as ma
from marshmallow import fields
from pymongo.database import Database

from services.common.fields import instance_of

from . import validators
from .domain.account_alerts import owner_of, raise_account_alert, remember_owner
from .domain.alerts import raise_transfer_alerts
from .domain.workflow_alerts import raise_workflow_alert
from .kinds import NOTIFICATION_SETTINGS
from .schemas import Checked

log = logging.getLogger(__name__)


# The ledger's data: members this service does not use are ignored, so the ledger may add some.
class PostingSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    account_id = fields.String(required=True)
    customer_id = fields.String(required=True, allow_none=True)
    amount = Checked(validators.signed_amount, required=True)
    currency = fields.String(required=True)
    balance_after = Checked(validators.signed_amount, required=True)


class TransferPostedSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    transfer_id = fields.String(required=True)
    # Not used for the rules: tolerated as null so an odd value never drops the alerts.
    kind = fields.String(load_default="transfer", allow_none=True)
    amount = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    description = fields.String(load_default="", allow_none=True)
    created_at = fields.String(allow_none=True)
    postings = fields.List(fields.Nested(PostingSchema), required=True)
    flags = fields.List(fields.String(), load_default=list)


class AccountOpenedSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    account_id = fields.String(required=True)
    customer_id = fields.String(required=True)
    type = fields.String(load_default="")
    currency = fields.String(load_default="")


class AccountStatusChangedSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    account_id = fields.String(required=True)
    status = fields.String(required=True, validate=ma.validate.OneOf(("active", "frozen")))
    customer_id = fields.String(load_default=None, allow_none=True)


class AccountClosedSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    account_id = fields.String(required=True)
    customer_id = fields.String(load_default=None, allow_none=True)


class WorkflowEventSchema(ma.Schema):
    """What every workflow event carries: whose it is. The rest is the alert's text and data,
    kept as strings (the ledger's decimal strings and ids)."""
    class Meta:
        unknown = ma.INCLUDE

    customer_id = fields.String(required=True, validate=ma.validate.Length(min=1, max=128))


def on_workflow_event(event_type: str):
    def handle(db: Database, data: dict, event_id: str) -> None:
        payload = _load(WorkflowEventSchema, data, event_type, event_id)
        if payload is None:
            return
        payload = {name: _text(value) for name, value in payload.items()}
        created = raise_workflow_alert(db, NOTIFICATION_SETTINGS, event_type, payload, event_id)
        log.info(f"{event_type} handled", extra={"event_id": event_id, "notifications": created})
    return handle


def _text(value):
    if isinstance(value, (str, int)) or value is None:
        return value
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)  # the rule codes of a risk event
    return str(value)


def _load(schema: type[ma.Schema], data: dict, event_type: str, event_id: str) -> dict | None:
    try:
        return instance_of(schema).load(data)
    except ma.ValidationError as exc:
        # Redelivering a malformed event cannot fix it: log it loudly and acknowledge.
        log.error("event rejected", extra={"event_type": event_type, "event_id": event_id,
                                           "errors": exc.messages})
        return None


def on_transfer_posted(db: Database, data: dict, event_id: str) -> None:
    transfer = _load(TransferPostedSchema, data, "transfer.posted", event_id)
    if transfer is None:
        return
    created = raise_transfer_alerts(db, NOTIFICATION_SETTINGS, transfer, event_id)
    log.info("transfer.posted handled", extra={"event_id": event_id, "notifications": created})


def on_account_opened(db: Database, data: dict, event_id: str) -> None:
    opened = _load(AccountOpenedSchema, data, "account.opened", event_id)
    if opened is None:
        return
    remember_owner(db, opened["account_id"], opened["customer_id"])
    _raise_for_account(db, "account_opened", opened["account_id"], opened["customer_id"],
                       {"type": opened["type"], "currency": opened["currency"]}, event_id)


def on_account_status_changed(db: Database, data: dict, event_id: str) -> None:
    changed = _load(AccountStatusChangedSchema, data, "account.status_changed", event_id)
    if changed is None:
        return
    kind = "account_frozen" if changed["status"] == "frozen" else "account_unfrozen"
    _raise_for_account(db, kind, changed["account_id"], changed["customer_id"],
                       {"status": changed["status"]}, event_id)


def on_account_closed(db: Database, data: dict, event_id: str) -> None:
    closed = _load(AccountClosedSchema, data, "account.closed", event_id)
    if closed is None:
        return
    _raise_for_account(db, "account_closed", closed["account_id"], closed["customer_id"],
                       {"status": "closed"}, event_id)


def _raise_for_account(db: Database, kind: str, account_id: str, customer_id: str | None,
                       details: dict[str, str], event_id: str) -> None:
    customer_id = customer_id or owner_of(db, account_id)
    if customer_id is None:
        # An account opened before this service heard of it: retrying would never find
        # its owner, so the event is acknowledged without a notification.
        log.warning("account event for an account of unknown owner",
                    extra={"event_id": event_id, "account_id": account_id, "kind": kind})
        return
    created = raise_account_alert(db, NOTIFICATION_SETTINGS, kind, customer_id, account_id,
                                  details, event_id)
    log.info("account event handled", extra={"event_id": event_id, "notifications": created})


HANDLERS = {
    "transfer.posted": on_transfer_posted,
    "account.opened": on_account_opened,
    "account.status_changed": on_account_status_changed,
    "account.closed": on_account_closed,
    "scheduled_transfer.failed": on_workflow_event("scheduled_transfer.failed"),
    "bill.due": on_workflow_event("bill.due"),
    "bill.overdue": on_workflow_event("bill.overdue"),
    "rewards.earned": on_workflow_event("rewards.earned"),
    "budget.exceeded": on_workflow_event("budget.exceeded"),
    "transfer.flagged": on_workflow_event("transfer.flagged"),
    "transfer.review": on_workflow_event("transfer.review"),
    "transfer.rejected": on_workflow_event("transfer.rejected"),
}
