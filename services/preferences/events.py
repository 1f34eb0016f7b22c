"""Events this service consumes, by type: handlers for `store.receive_mongo_event`."""
from __future__ import annotations

import logging

import marshmallow as ma
from marshmallow import fields
from pymongo.database import Database

from . import validators
from .domain.alerts import raise_transfer_alerts
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
    kind = fields.String(load_default="transfer")
    amount = fields.String()
    currency = fields.String()
    description = fields.String(load_default="")
    created_at = fields.String()
    postings = fields.List(fields.Nested(PostingSchema), required=True)
    flags = fields.List(fields.String(), load_default=list)


_transfer_posted = TransferPostedSchema()


def on_transfer_posted(db: Database, data: dict, event_id: str) -> None:
    try:
        transfer = _transfer_posted.load(data)
    except ma.ValidationError as exc:
        # Redelivering a malformed event cannot fix it: log it loudly and acknowledge.
        log.error("transfer.posted event rejected", extra={"event_id": event_id,
                                                            "errors": exc.messages})
        return
    created = raise_transfer_alerts(db, NOTIFICATION_SETTINGS, transfer, event_id)
    log.info("transfer.posted handled", extra={"event_id": event_id, "notifications": created})


HANDLERS = {"transfer.posted": on_transfer_posted}
