"""GET /api/v1/accounts/{id}/balance-history?from=&to=: the closing balance of each UTC day."""
from __future__ import annotations

from datetime import datetime, timezone

import marshmallow as ma
from flask_smorest import Blueprint

from services.common.amounts import from_minor
from services.common.sql import read_session

from ..domain.ledger.balance_history import MAX_DAYS, balance_history
from .actors import actor, visible_account

blp = Blueprint("balance_history", __name__, url_prefix="/api/v1", description="Balance history.")


class HistoryQuerySchema(ma.Schema):
    from_ = ma.fields.Date(required=True, data_key="from", metadata={"description": "YYYY-MM-DD, inclusive"})
    to = ma.fields.Date(required=True, metadata={"description": "YYYY-MM-DD, inclusive; a day after today "
                                                                "(UTC) is answered up to today"})

    @ma.validates_schema
    def _a_range(self, data, **_kwargs):
        if "from_" not in data or "to" not in data:
            return
        if data["to"] < data["from_"]:
            raise ma.ValidationError("`to` is on or after `from`.", field_name="to")
        if (min(data["to"], _today()) - data["from_"]).days + 1 > MAX_DAYS:
            raise ma.ValidationError(f"At most {MAX_DAYS} days at a time.", field_name="from")


class DayBalanceSchema(ma.Schema):
    date = ma.fields.String()
    balance = ma.fields.String()


class HistorySchema(ma.Schema):
    account_id = ma.fields.String()
    currency = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(DayBalanceSchema))
    next_cursor = ma.fields.String(allow_none=True, metadata={"description": "always null: one page of at most "
                                                                            "366 days"})


def _today():
    return datetime.now(timezone.utc).date()


@blp.get("/accounts/<account_id>/balance-history")
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, HistorySchema)
def history(query, account_id: str):
    """The end-of-day balance of each day from `from` to `to` (UTC days; today's is so far)."""
    who = actor()
    session = read_session()
    currency = visible_account(session, who, account_id).currency
    last = min(query["to"], _today())
    days = balance_history(session, account_id, query["from_"], last) if query["from_"] <= last else []
    return {"account_id": account_id, "currency": currency,
            "items": [{"date": day.isoformat(), "balance": from_minor(balance, currency)} for day, balance in days],
            "next_cursor": None}
