"""Admin: the risk rules (GET, PUT one; audited), the review queue (list, approve, reject)."""
from __future__ import annotations

import json
import uuid

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from services.common import cursors
from services.common.errors import Problem
from services.common.outbox import publish
from services.common.request_id import current_request_id
from services.common.sql import request_session

from ..domain.ledger.events import transfer_posted, transfer_risk
from ..domain.risk.facts import load_rules
from ..domain.risk.reviews import STATUSES, approve_review, get_review, list_reviews, reject_review
from ..domain.risk.rules import CODES, RuleError, check_rule
from ..domain.workflows.execute import post_request
from .actors import admin_actor
from .ids import path_id
from .idempotent import IDEMPOTENCY_OPTIONAL, optional_idempotent_write
from .serialize import review_json, rfc3339

blp = Blueprint("risk", __name__, url_prefix="/api/v1/admin", description="Risk rules and the review queue.")


class RiskRuleSchema(ma.Schema):
    code = ma.fields.String(required=True)
    enabled = ma.fields.Boolean(required=True)
    action = ma.fields.String(required=True, metadata={"enum": ["flag", "review", "reject"]})
    params = ma.fields.Dict(required=True)


class RiskRulesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RiskRuleSchema), required=True)


class RiskRuleChangeSchema(ma.Schema):
    enabled = ma.fields.Boolean(truthy={True}, falsy={False})
    action = ma.fields.String(validate=ma.validate.OneOf(["flag", "review", "reject"]))
    params = ma.fields.Dict(metadata={"description": "Every param the rule takes (API.md, risk rule params)"})


class ReviewSchema(ma.Schema):
    id = ma.fields.String(required=True)
    transfer_id = ma.fields.String(required=True)
    customer_id = ma.fields.String(required=True)
    from_account_id = ma.fields.String(required=True)
    to_account_id = ma.fields.String(allow_none=True)
    to_iban = ma.fields.String(allow_none=True)
    amount = ma.fields.String(required=True)
    currency = ma.fields.String(required=True)
    description = ma.fields.String()
    rules = ma.fields.List(ma.fields.String(), required=True)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    hold_id = ma.fields.String()
    decided_by = ma.fields.String(allow_none=True)
    decided_at = ma.fields.String(allow_none=True)
    created_at = ma.fields.String(required=True)


class ReviewPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ReviewSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


class ReviewQuerySchema(ma.Schema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None)


@blp.get("/risk-rules")
@blp.response(200, RiskRulesSchema)
def get_rules():
    """The rules in force: `{code, enabled, action, params}` each."""
    admin_actor()
    rules = load_rules(request_session())
    return {"items": [rules[code].as_json() for code in CODES if code in rules]}


@blp.put("/risk-rules/<code>")
@blp.arguments(RiskRuleChangeSchema)
@blp.response(200, RiskRuleSchema)
def put_rule(body, code: str):
    """Change one rule (enabled, action, params: each optional, params whole); audited in
    risk_rule_changes with the admin's name. Unknown code 404; bad params 422."""
    who = admin_actor()
    if code not in CODES:
        raise Problem(404, "not_found", f"There is no risk rule {code}.")
    session = request_session()
    current = load_rules(session)[code]
    try:
        rule = check_rule(code, body.get("enabled", current.enabled), body.get("action", current.action),
                          body.get("params", current.params))
    except RuleError as error:
        raise Problem(422, "validation_error", str(error), errors={error.field: [str(error)]}) from None
    session.execute(text(
        "UPDATE risk_rules SET enabled = :enabled, action = :action, params = CAST(:params AS jsonb), "
        "updated_by = :by, updated_at = now() WHERE code = :code"),
        {"enabled": rule.enabled, "action": rule.action, "params": _json(rule.params), "by": who.name,
         "code": code})
    session.commit()
    return rule.as_json()


def _json(params) -> str:
    return json.dumps(dict(params))


@blp.get("/reviews")
@blp.arguments(ReviewQuerySchema, location="query")
@blp.response(200, ReviewPageSchema)
def reviews(query):
    """The review queue, oldest first; `?status=open|approved|rejected`."""
    admin_actor()
    found, after = list_reviews(request_session(), status=query["status"], limit=query["limit"],
                                after=cursors.after(query["cursor"], cursors.moment, uuid.UUID))
    return {"items": [review_json(review) for review in found],
            "next_cursor": cursors.encode(*after) if after else None}


@blp.get("/reviews/<review_id>")
@blp.response(200, ReviewSchema)
def review(review_id: str):
    admin_actor()
    return review_json(get_review(request_session(), path_id(review_id, "Review")))


@blp.post("/reviews/<review_id>/approve")
@blp.response(200, ReviewSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def approve(review_id: str):
    """Post the held transfer under the id the customer was given (the checks of the moment
    apply: a frozen account or a lack of funds refuse, and the review stays open)."""
    who = admin_actor()
    found = path_id(review_id, "Review")

    def act(session):
        def post(session_, customer, request, entry_id):
            # the approval's request id; the rate in force now (no expectation to hold it to)
            request = {**request, "request_id": current_request_id(), "expected_fx_rate": None}
            return post_request(session_, customer, request, entry_id=entry_id)
        decided, entry, _ = approve_review(session, who, found, post)
        publish(current_app, session, "transfer.posted",
                transfer_posted(entry, rfc3339(entry.created_at), decided.rules))
        return 200, review_json(decided), decided.id

    return optional_idempotent_write(who.name, act, ReviewSchema)


@blp.post("/reviews/<review_id>/reject")
@blp.response(200, ReviewSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def reject(review_id: str):
    """Release the hold; the transfer is `rejected` and never posts."""
    who = admin_actor()
    found = path_id(review_id, "Review")

    def act(session):
        decided = reject_review(session, who, found)
        publish(current_app, session, "transfer.rejected", transfer_risk(
            decided.transfer_id, decided.customer_id, decided.from_account_id, decided.amount, decided.currency,
            decided.rules, reason="review_rejected", review_id=str(decided.id)))
        return 200, review_json(decided), decided.id

    return optional_idempotent_write(who.name, act, ReviewSchema)

