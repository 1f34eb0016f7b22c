"""FX rates and the fee schedule: admin writes, reads for everyone signed in."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from services.common.amounts import AMOUNT_PATTERN, AmountError, parse_amount, to_minor
from services.common.currency import CurrencyCode
from services.common.fields import anchored
from services.common.service_auth import current_principal, require_role
from services.common.sql import request_session

from ..domain.books.fees import KINDS, PERCENT_PATTERN, parse_percent, put_fee, schedule
from ..domain.books.fx import RATE_PATTERN, RateError, history_page, parse_rate, put_rate, rates_at
from ..domain.books.values import EARLIEST_MOMENT, LATEST_MOMENT, decimal_text, rfc3339, utc_now
from ..currencies import minor_units

blp = Blueprint("fx", __name__, url_prefix="/api/v1", description="FX rates and fees.")

MOMENT = ma.validate.Range(min=EARLIEST_MOMENT, max=LATEST_MOMENT)


class FxRateRequestSchema(ma.Schema):
    base = CurrencyCode(required=True, metadata={"example": "EUR"})
    quote = CurrencyCode(required=True, metadata={"example": "USD"})
    rate = ma.fields.String(required=True, metadata={
        "pattern": anchored(RATE_PATTERN), "example": "1.0842", "description": "Units of quote per one base: ASCII digits, at most 10 before "
                                            "and 12 after the point, greater than zero."})
    effective_from = ma.fields.AwareDateTime(load_default=None, validate=MOMENT, metadata={
        "description": "RFC 3339 with offset; default now; may be in the past, at most a year ahead."})

    @ma.validates("rate")
    def _rate(self, value, **_kwargs):
        try:
            parse_rate(value)
        except RateError as error:
            raise ma.ValidationError(str(error)) from None

    @ma.validates_schema
    def _pair(self, data, **_kwargs):
        if data.get("base", "").upper() == data.get("quote", "").upper():
            raise ma.ValidationError("A rate is between two different currencies.", field_name="quote")


class FxRateSchema(ma.Schema):
    id = ma.fields.String()
    base = ma.fields.String()
    quote = ma.fields.String()
    rate = ma.fields.String()
    effective_from = ma.fields.String()
    created_at = ma.fields.String()
    created_by = ma.fields.String()


class RatesQuerySchema(ma.Schema):
    base = CurrencyCode(load_default="EUR")
    at = ma.fields.AwareDateTime(load_default=None, validate=MOMENT)


class RatesSchema(ma.Schema):
    base = ma.fields.String()
    as_of = ma.fields.String()
    rates = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class HistoryQuerySchema(ma.Schema):
    base = CurrencyCode(required=True)
    quote = CurrencyCode(load_default=None)
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=500))


class HistoryPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FxRateSchema))
    next_cursor = ma.fields.String(allow_none=True)


class FeeRequestSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    percent = ma.fields.String(required=True, metadata={
        "example": "0.50", "pattern": anchored(PERCENT_PATTERN), "description": "0 to 100, at most 4 decimals."})
    minimum = ma.fields.String(load_default="0", metadata={
        "example": "1.00", "pattern": anchored(AMOUNT_PATTERN), "description": "An amount in `currency`."})
    currency = CurrencyCode(required=True)

    @ma.validates("percent")
    def _percent(self, value, **_kwargs):
        try:
            parse_percent(value)
        except ValueError as error:
            raise ma.ValidationError(str(error)) from None

    @ma.validates_schema
    def _minimum(self, data, **_kwargs):
        currency = data.get("currency")
        if currency is None or minor_units(currency.upper()) is None:
            return
        try:
            parse_amount(data.get("minimum"), currency.upper(), allow_zero=True)
        except AmountError as error:
            raise ma.ValidationError(str(error), field_name="minimum") from None


class FeeSchema(ma.Schema):
    kind = ma.fields.String()
    percent = ma.fields.String()
    minimum = ma.fields.String()
    currency = ma.fields.String()
    effective_from = ma.fields.String()
    created_by = ma.fields.String()


class FeeListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FeeSchema))


def _admin_name() -> str:
    return f"admin:{require_role('admin').customer_id}"


@blp.put("/admin/fx-rates")
@blp.arguments(FxRateRequestSchema)
@blp.response(201, FxRateSchema)
@blp.alt_response(200, schema=FxRateSchema, description="The same record again (a repeated PUT): nothing added.")
def put_fx_rate(body):
    """Add a rate record (admin; audited by created_by). History is kept: nothing is overwritten."""
    who = _admin_name()
    session = request_session()
    record, created = put_rate(session, base=body["base"], quote=body["quote"], rate=parse_rate(body["rate"]),
                               effective_from=body["effective_from"] or utc_now(), created_by=who)
    session.commit()
    return record.as_json(), 201 if created else 200


@blp.get("/fx/rates")
@blp.arguments(RatesQuerySchema, location="query")
@blp.response(200, RatesSchema)
def get_rates(query):
    """The rates against `base` in force at `at` (default now): a pair's own rate or the inverse
    of the opposite pair, whichever is newer; no triangulation."""
    current_principal()
    at = query["at"] or utc_now()
    rates = rates_at(request_session(), query["base"], at)
    return {"base": query["base"].upper(), "as_of": rfc3339(at),
            "rates": {quote: decimal_text(rate) for quote, rate in rates.items()}}


@blp.get("/fx/rates/history")
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, HistoryPageSchema)
def get_rate_history(query):
    """The rate records of a pair (both directions; all pairs of `base` without `quote`),
    newest first by effective_from."""
    current_principal()
    records, next_cursor = history_page(request_session(), query["base"], query["quote"],
                                        limit=query["limit"], cursor=query["cursor"])
    return {"items": [r.as_json() for r in records], "next_cursor": next_cursor}


@blp.put("/admin/fees")
@blp.arguments(FeeRequestSchema)
@blp.response(200, FeeSchema)
def put_fee_schedule(body):
    """Set the fee of a kind in a currency (admin); the change is a new row, the old one history."""
    who = _admin_name()
    session = request_session()
    currency = body["currency"].upper()
    fee = put_fee(session, kind=body["kind"], percent=parse_percent(body["percent"]),
                  minimum=to_minor(parse_amount(body["minimum"], currency, allow_zero=True), currency),
                  currency=currency, created_by=who)
    session.commit()
    return fee.as_json()


@blp.get("/fees")
@blp.response(200, FeeListSchema)
def get_fees():
    """The fee schedule in force: per kind and currency, percent of the amount, at least the minimum."""
    current_principal()
    return {"items": [fee.as_json() for fee in schedule(request_session())]}
