"""GET/POST /api/v1/budgets, PATCH/DELETE /api/v1/budgets/{id}, GET /api/v1/insights/spending."""
from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask_smorest import Blueprint

from services.common.amounts import (AmountError, AmountString, from_minor, parse_amount, to_minor,
                                     validate_amount_for_currency)
from services.common.currency import CurrencyCode
from services.common.errors import Problem
from services.common.fields import whole_match
from services.common.sql import read_session, request_session

from ..domain.insights.budgets import budget_json, change_limit, create_budget, delete_budget, get_budget, list_budgets
from ..domain.insights.categories import SLUGS
from ..domain.insights.spending import spent_by_category
from .actors import customer_actor, visible_account
from .ids import path_id

blp = Blueprint("budgets", __name__, url_prefix="/api/v1", description="Budgets and spending insights.")

MONTH_PATTERN = "^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"
_MONTH = whole_match(MONTH_PATTERN)


class Month(ma.fields.String):
    """`YYYY-MM`, loaded as the month's first day."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"pattern": MONTH_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _MONTH.match(text):
            raise ma.ValidationError("A month as YYYY-MM.")
        return date(int(text[:4]), int(text[5:7]), 1)


class BudgetSchema(ma.Schema):
    id = ma.fields.String(required=True)
    month = ma.fields.String(required=True, metadata={"example": "2026-12"})
    category = ma.fields.String(required=True)
    limit = ma.fields.String(required=True)
    currency = ma.fields.String(required=True)
    spent = ma.fields.String(required=True)
    remaining = ma.fields.String(required=True, metadata={"description": "limit - spent; negative when over"})
    percent = ma.fields.String(required=True, metadata={"example": "20.00"})


class BudgetListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BudgetSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


class BudgetQuerySchema(ma.Schema):
    month = Month(load_default=None)


class BudgetCreateSchema(ma.Schema):
    month = Month(required=True, metadata={"example": "2026-12"})
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(SLUGS))
    limit = AmountString(required=True, metadata={"example": "300.00"})
    currency = CurrencyCode(required=True)

    @ma.validates_schema(skip_on_field_errors=True)
    def _limit_fits_currency(self, data, **_kwargs):
        validate_amount_for_currency(data, "limit")


class BudgetChangeSchema(ma.Schema):
    limit = AmountString(required=True)


class InsightsQuerySchema(ma.Schema):
    month = Month(required=True, metadata={"example": "2026-12"})
    account_id = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=100))
    currency = CurrencyCode(load_default="EUR", metadata={"description": "The currency of the totals (default EUR)"})


class CategorySpentSchema(ma.Schema):
    category = ma.fields.String(required=True)
    spent = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class InsightsSchema(ma.Schema):
    month = ma.fields.String(required=True)
    currency = ma.fields.String(required=True)
    total = ma.fields.String(required=True)
    by_category = ma.fields.List(ma.fields.Nested(CategorySpentSchema), required=True)


@blp.get("/budgets")
@blp.arguments(BudgetQuerySchema, location="query")
@blp.response(200, BudgetListSchema)
def budgets(query):
    """The customer's budgets (`?month=YYYY-MM` for one month), each with what was spent."""
    who = customer_actor()
    session = read_session()
    return {"items": [budget_json(session, budget) for budget in list_budgets(session, who.customer_id, query["month"])],
            "next_cursor": None}


@blp.post("/budgets")
@blp.arguments(BudgetCreateSchema)
@blp.response(201, BudgetSchema)
def create(body):
    """One per month and category: a second is 409 budget_exists."""
    who = customer_actor()
    session = request_session()
    budget = create_budget(session, who.customer_id, month=body["month"], category=body["category"],
                           currency=body["currency"], limit_amount=to_minor(parse_amount(body["limit"], body["currency"]),
                                                                            body["currency"]))
    session.commit()
    return budget_json(session, budget)


@blp.patch("/budgets/<budget_id>")
@blp.arguments(BudgetChangeSchema)
@blp.response(200, BudgetSchema)
def change(body, budget_id: str):
    """A new limit (in the budget's currency)."""
    who = customer_actor()
    session = request_session()
    found = get_budget(session, who.customer_id, path_id(budget_id, "Budget"))
    try:
        limit = parse_amount(body["limit"], found.currency)
    except AmountError as error:
        raise Problem(422, "validation_error", str(error), errors={"limit": [str(error)]}) from None
    budget = change_limit(session, who.customer_id, found.id, to_minor(limit, found.currency))
    session.commit()
    return budget_json(session, budget)


@blp.delete("/budgets/<budget_id>")
@blp.response(204)
def delete(budget_id: str):
    who = customer_actor()
    session = request_session()
    delete_budget(session, who.customer_id, path_id(budget_id, "Budget"))
    session.commit()
    return ""


@blp.get("/insights/spending")
@blp.arguments(InsightsQuerySchema, location="query")
@blp.response(200, InsightsSchema)
def spending(query):
    """Money that left the customer's accounts to anyone else in the month (own-account moves
    excluded, incoming money never), by category, converted at each line's day's rate."""
    who = customer_actor()
    session = read_session()
    if query["account_id"] is not None:
        visible_account(session, who, query["account_id"])
    currency = query["currency"]
    spent = spent_by_category(session, who.customer_id, query["month"], currency, account_id=query["account_id"])
    by_category = sorted(spent.items(), key=lambda item: (-item[1].amount, item[0]))
    return {"month": f"{query['month']:%Y-%m}", "currency": currency,
            "total": from_minor(sum(s.amount for s in spent.values()), currency),
            "by_category": [{"category": name, "spent": from_minor(s.amount, currency), "count": s.lines}
                            for name, s in by_category]}
