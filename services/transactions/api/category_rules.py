"""GET/POST /api/v1/category-rules, PATCH/DELETE /api/v1/category-rules/{id}: a customer's own."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from services.common.fields import WholeNumber
from services.common.sql import request_session

from ..domain.insights.categories import SLUGS
from ..domain.insights.patterns import MAX_PATTERN
from ..domain.insights.rules import create_rule, delete_rule, list_rules, update_rule
from .actors import customer_actor
from .ids import path_id

blp = Blueprint("category_rules", __name__, url_prefix="/api/v1", description="Categories: the customer's rules.")

PATTERN = {"validate": ma.validate.Length(min=1, max=MAX_PATTERN), "allow_none": True,
           "metadata": {"description": "An RE2 regular expression, matched anywhere (`(?i)` for any case)"}}
STRICT_BOOL = {"truthy": {True}, "falsy": {False}}
PRIORITY = ma.validate.Range(min=-1_000_000, max=1_000_000)


class CategoryRuleSchema(ma.Schema):
    id = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    description_pattern = ma.fields.String(allow_none=True)
    merchant_pattern = ma.fields.String(allow_none=True)
    priority = ma.fields.Integer(required=True, metadata={"description": "The higher wins"})
    active = ma.fields.Boolean(required=True)


class CategoryRuleListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CategoryRuleSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


class CategoryRuleCreateSchema(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(SLUGS))
    description_pattern = ma.fields.String(load_default=None, **PATTERN)
    merchant_pattern = ma.fields.String(load_default=None, **PATTERN)
    priority = WholeNumber(load_default=0, validate=PRIORITY)
    active = ma.fields.Boolean(load_default=True, **STRICT_BOOL)


class CategoryRuleChangeSchema(ma.Schema):
    category = ma.fields.String(validate=ma.validate.OneOf(SLUGS))
    description_pattern = ma.fields.String(**PATTERN)
    merchant_pattern = ma.fields.String(**PATTERN)
    priority = WholeNumber(validate=PRIORITY)
    active = ma.fields.Boolean(**STRICT_BOOL)


@blp.get("/category-rules")
@blp.response(200, CategoryRuleListSchema)
def rules():
    """The customer's rules, the one that wins first (priority, then the oldest)."""
    who = customer_actor()
    return {"items": [rule.as_json() for rule in list_rules(request_session(), who.customer_id)],
            "next_cursor": None}


@blp.post("/category-rules")
@blp.arguments(CategoryRuleCreateSchema)
@blp.response(201, CategoryRuleSchema)
def create(body):
    """A rule for the lines posted from now on; an invalid RE2 pattern is 422."""
    who = customer_actor()
    session = request_session()
    rule = create_rule(session, who.customer_id, body)
    session.commit()
    return rule.as_json()


@blp.patch("/category-rules/<rule_id>")
@blp.arguments(CategoryRuleChangeSchema)
@blp.response(200, CategoryRuleSchema)
def change(body, rule_id: str):
    who = customer_actor()
    session = request_session()
    rule = update_rule(session, who.customer_id, path_id(rule_id, "Category rule"), body)
    session.commit()
    return rule.as_json()


@blp.delete("/category-rules/<rule_id>")
@blp.response(204)
def delete(rule_id: str):
    who = customer_actor()
    session = request_session()
    delete_rule(session, who.customer_id, path_id(rule_id, "Category rule"))
    session.commit()
    return ""
