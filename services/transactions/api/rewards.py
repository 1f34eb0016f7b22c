"""GET /api/v1/rewards and POST /api/v1/rewards/redeem (API.md "Scheduled transfers, bills,
rewards"): the customer's points, earned on card spending by the published rule, and
their redemption into one of their accounts through the ledger."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from services.common import cursors
from services.common.fields import WholeNumber
from services.common.outbox import publish
from services.common.request_id import current_request_id
from services.common.sql import read_session

from ..domain.ledger.events import transfer_posted
from ..domain.workflows.rewards import PROGRAM, RewardItem, redeem, rewards_of
from .actors import customer_actor
from .idempotent import IDEMPOTENCY_REQUIRED
from .idempotent import idempotent_write
from ..schemas import ID, TransferSchema
from .serialize import planned_transfer_json, rfc3339

blp = Blueprint("rewards", __name__, url_prefix="/api/v1", description="Reward points.")

MAX_POINTS = 10 ** 12


class ProgramSchema(ma.Schema):
    name = ma.fields.String()
    earn_rule = ma.fields.String()
    points_per_unit = ma.fields.Integer()
    redeem_rate = ma.fields.String()
    points_per_cash_unit = ma.fields.Integer()


class RewardItemSchema(ma.Schema):
    points = ma.fields.Integer(metadata={"description": "positive earned, negative taken back or redeemed"})
    reason = ma.fields.String(metadata={"description": "card_spending, spending_reversed or redeemed"})
    transfer_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()


class RewardsSchema(ma.Schema):
    program = ma.fields.Nested(ProgramSchema)
    points_balance = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(RewardItemSchema))
    next_cursor = ma.fields.String(allow_none=True)


class RewardsQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


class RedeemRequestSchema(ma.Schema):
    points = WholeNumber(required=True, validate=ma.validate.Range(min=1, max=MAX_POINTS))
    to_account_id = ID


class RedemptionSchema(TransferSchema):
    points_redeemed = ma.fields.Integer()
    points_balance = ma.fields.Integer()


def item_json(item: RewardItem) -> dict:
    return {"points": item.points, "reason": item.reason,
            "transfer_id": str(item.transfer_id) if item.transfer_id else None, "created_at": rfc3339(item.created_at)}


@blp.get("/rewards")
@blp.arguments(RewardsQuerySchema, location="query")
@blp.response(200, RewardsSchema)
def show(query):
    """The program's published rule, the points balance (the sum of the items) and the items."""
    who = customer_actor()
    balance, items, following = rewards_of(read_session(), who.customer_id, query["limit"],
                                           cursors.after(query["cursor"], cursors.moment, cursors.row_number))
    return {"program": PROGRAM, "points_balance": balance, "items": [item_json(i) for i in items],
            "next_cursor": cursors.encode(*following) if following else None}


@blp.post("/rewards/redeem")
@blp.arguments(RedeemRequestSchema)
@blp.response(201, RedemptionSchema)
@blp.doc(parameters=IDEMPOTENCY_REQUIRED)
def redeem_points(body):
    """Cash for points at the published rate, paid by the bank's rewards account into one of
    the customer's accounts; more than the balance is 422 `insufficient_points`."""
    who = customer_actor()

    def act(session):
        entry, left = redeem(session, who.customer_id, body["points"], body["to_account_id"], who.name,
                             request_id=current_request_id())
        publish(current_app, session, "transfer.posted", transfer_posted(entry, rfc3339(entry.created_at)))
        answer = {**planned_transfer_json(entry, entry.created_at), "points_redeemed": body["points"],
                  "points_balance": left}
        return 201, answer, entry.id

    return idempotent_write(who.name, act, RedemptionSchema)

