"""Holds (card authorisations): POST/GET /api/v1/holds, GET /api/v1/holds/{id},
POST /api/v1/holds/{id}/capture and /release (API.md "Holds"). Creating, capturing and
releasing are the card integration's (admin); customers read their own holds."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from services.common import cursors
from services.common.amounts import AmountError, AmountString, from_minor, parse_amount, to_minor
from services.common.errors import Problem
from services.common.fields import SafeText
from services.common.outbox import publish
from services.common.request_id import current_request_id
from services.common.sql import read_session, request_session

from ..domain.ledger.events import transfer_posted
from ..domain.ledger.holds import STATUSES, Hold, capture_hold, create_hold, get_hold, list_holds, release_hold
from .ids import path_id
from .actors import actor, admin_actor
from .idempotent import IDEMPOTENCY_OPTIONAL, IDEMPOTENCY_REQUIRED, idempotent_write, optional_idempotent_write
from ..schemas import ID, MoneySchema, TransferSchema
from .serialize import planned_transfer_json, rfc3339

blp = Blueprint("holds", __name__, url_prefix="/api/v1", description="Card authorisations (holds).")

# A card authorisation lasts days, not years: a far expiry would reserve money indefinitely.
MAX_HOLD = timedelta(days=366)


class HoldRequestSchema(MoneySchema):
    account_id = ID
    description = SafeText(load_default="", validate=ma.validate.Length(max=140))
    merchant = SafeText(load_default="", validate=ma.validate.Length(max=128))
    expires_at = ma.fields.AwareDateTime(required=True, metadata={"description": "RFC 3339, in the future"})

    @ma.validates("expires_at")
    def _in_the_future(self, value, **_kwargs):
        now = datetime.now(timezone.utc)
        if value <= now:
            raise ma.ValidationError("A hold expires in the future.")
        if value > now + MAX_HOLD:
            raise ma.ValidationError("A hold expires within a year.")


class CaptureRequestSchema(ma.Schema):
    amount = AmountString(load_default=None, metadata={"description": "Default: all of the hold"})


class HoldSchema(ma.Schema):
    id = ma.fields.String()
    account_id = ma.fields.String()
    amount = ma.fields.String()
    currency = ma.fields.String()
    status = ma.fields.String(metadata={"description": "active, captured, released or expired"})
    captured_amount = ma.fields.String()
    description = ma.fields.String()
    merchant = ma.fields.String()
    expires_at = ma.fields.String()
    created_at = ma.fields.String()
    capture_transfer_id = ma.fields.String(allow_none=True)


class HoldPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HoldSchema))
    next_cursor = ma.fields.String(allow_none=True)


class HoldQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None)
    account_id = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=64))
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))


def hold_json(hold: Hold) -> dict:
    return {"id": str(hold.id), "account_id": hold.account_id, "amount": from_minor(hold.amount, hold.currency),
            "currency": hold.currency, "status": hold.status,
            "captured_amount": from_minor(hold.captured_amount, hold.currency),
            "description": hold.description, "merchant": hold.merchant, "expires_at": rfc3339(hold.expires_at),
            "created_at": rfc3339(hold.created_at),
            "capture_transfer_id": str(hold.capture_entry_id) if hold.capture_entry_id else None}




@blp.post("/holds")
@blp.arguments(HoldRequestSchema)
@blp.response(201, HoldSchema)
@blp.doc(parameters=IDEMPOTENCY_REQUIRED)
def create(body):
    """Authorise a card payment: the amount is reserved (available_balance drops, balance does not)."""
    who = admin_actor()

    def act(session):
        hold = create_hold(session, who, account_id=body["account_id"],
                           amount=to_minor(body["amount"], body["currency"]), currency=body["currency"],
                           expires_at=body["expires_at"], description=body["description"],
                           merchant=body["merchant"])
        return 201, hold_json(hold), hold.id

    return idempotent_write(who.name, act, HoldSchema)


@blp.get("/holds")
@blp.arguments(HoldQuerySchema, location="query")
@blp.response(200, HoldPageSchema)
def index(query):
    """The customer's holds (an admin's: any), newest first; filters account_id and status."""
    found, after = list_holds(read_session(), actor(), limit=query["limit"], account_id=query["account_id"],
                              status=query["status"],
                              after=cursors.after(query["cursor"], cursors.moment, uuid.UUID))
    return {"items": [hold_json(h) for h in found], "next_cursor": cursors.encode(*after) if after else None}


@blp.get("/holds/<hold_id>")
@blp.response(200, HoldSchema)
def show(hold_id: str):
    """One hold; an active hold past its expiry shows `expired`."""
    return hold_json(get_hold(read_session(), actor(), path_id(hold_id, "Hold")))


@blp.post("/holds/<hold_id>/capture")
@blp.arguments(CaptureRequestSchema)
@blp.response(201, TransferSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def capture(body, hold_id: str):
    """Post the hold (all of it by default, at most its amount); the rest is released."""
    who = admin_actor()
    hold = get_hold(request_session(), who, path_id(hold_id, "Hold"))
    amount = None
    if body["amount"] is not None:
        try:
            amount = to_minor(parse_amount(body["amount"], hold.currency), hold.currency)
        except AmountError as error:
            raise Problem(422, "validation_error", str(error), errors={"amount": [str(error)]}) from None

    def act(session):
        entry, captured = capture_hold(session, who, hold.id, amount, request_id=current_request_id())
        publish(current_app, session, "transfer.posted", transfer_posted(entry, rfc3339(entry.created_at)))
        return 201, {**planned_transfer_json(entry, entry.created_at), "hold_id": str(captured)}, entry.id

    return optional_idempotent_write(who.name, act, TransferSchema)


@blp.post("/holds/<hold_id>/release")
@blp.response(200, HoldSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def release(hold_id: str):
    """Release the hold: the funds are available again."""
    who = admin_actor()
    target = path_id(hold_id, "Hold")

    def act(session):
        hold = release_hold(session, who, target)
        return 200, hold_json(hold), hold.id

    return optional_idempotent_write(who.name, act, HoldSchema)


