"""Request and response shapes of the money-movement API."""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma

from services.common.currency import CurrencyCode
from services.common.amounts import AmountString, validate_amount_for_currency
from services.common.fields import SafeText

from .domain.books.fx import RateError, parse_rate
from .domain.ledger.external import InvalidIban, parse_iban
from .domain.insights.categories import SLUGS

ID = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))


class MoneySchema(ma.Schema):
    """An amount string and an ISO 4217 currency, by the suite's one amount rule
    (services/common/amounts.py): ASCII digits, at most 12 before the point, no more places
    than the currency has, greater than zero; checked before any arithmetic."""

    amount = AmountString(required=True, metadata={"example": "1250.50"})
    currency = CurrencyCode(required=True)

    @ma.validates_schema(skip_on_field_errors=False)
    def _amount_fits_currency(self, data, **_kwargs):
        currency = data.get("currency")
        if currency is None:
            return
        validate_amount_for_currency(data)

    @ma.post_load
    def _normalise(self, data, **_kwargs):
        data["amount"] = Decimal(data["amount"])
        return data


class FxRate(ma.fields.Field):
    """A rate as its exact decimal string (books.fx.parse_rate's rule), loaded as a Decimal."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_rate(value)
        except RateError as error:
            raise ma.ValidationError(str(error)) from None


class Iban(ma.fields.String):
    """An IBAN by schwifty's rules (length, country format, check digits); loaded compact."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 42:
            raise ma.ValidationError("An IBAN has at most 34 characters.")
        try:
            return parse_iban(text).iban
        except InvalidIban as error:
            raise ma.ValidationError(f"Not a valid IBAN: {error}") from None


class DestinationSchema(ma.Schema):
    # One of the two: an account of this bank by id, or any IBAN (API.md "External and
    # international transfers"), with the beneficiary's name.
    to_account_id = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=64))
    to_iban = Iban(load_default=None, metadata={"example": "DE89370400440532013000"})
    beneficiary_name = SafeText(load_default=None, validate=ma.validate.Length(min=1, max=140))

    @ma.validates_schema
    def _one_destination(self, data, **_kwargs):
        if (data.get("to_account_id") is None) == (data.get("to_iban") is None):
            raise ma.ValidationError("Give to_account_id or to_iban, not both.", field_name="to_account_id")
        if data.get("to_iban") is not None and not data.get("beneficiary_name"):
            raise ma.ValidationError("A transfer to an IBAN names its beneficiary.",
                                     field_name="beneficiary_name")


class TransferRequestSchema(MoneySchema, DestinationSchema):
    from_account_id = ID
    description = SafeText(load_default="", validate=ma.validate.Length(max=140))
    category = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(SLUGS),
                                metadata={"description": "A category slug (GET /api/v1/categories); without one "
                                                         "the customer's rules or the default decide"})
    # Cross-currency only: the rate the customer was shown; another rate in force is 409 fx_rate_changed.
    expected_fx_rate = FxRate(load_default=None, metadata={"example": "1.0842"})
    merchant = SafeText(load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=128))


class DepositRequestSchema(MoneySchema):
    account_id = ID
    description = SafeText(load_default="", validate=ma.validate.Length(max=140))


class ReverseRequestSchema(ma.Schema):
    description = SafeText(load_default=None, validate=ma.validate.Length(max=140))


class RiskOutcomeSchema(ma.Schema):
    outcome = ma.fields.String(metadata={"description": "allow, flag or review (a reject is a 422)"})
    rules = ma.fields.List(ma.fields.String(), metadata={"description": "The risk rules the transfer hit"})


class TransferSchema(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String()
    from_account_id = ma.fields.String()
    to_account_id = ma.fields.String(allow_none=True)
    amount = ma.fields.String()
    currency = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    reverses_transfer_id = ma.fields.String(allow_none=True)
    reversed_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()
    fee = ma.fields.String(metadata={"description": "Charged on top of amount, in its currency"})
    fx_rate = ma.fields.String(metadata={"description": "Cross-currency only"})
    converted_amount = ma.fields.String(metadata={"description": "Cross-currency only: what the target received"})
    converted_currency = ma.fields.String()
    merchant = ma.fields.String(allow_none=True)
    external = ma.fields.Boolean(metadata={"description": "Sent to another bank (to_iban)"})
    international = ma.fields.Boolean(metadata={"description": "External, to another country"})
    to_iban = ma.fields.String(metadata={"description": "External only"})
    beneficiary_name = ma.fields.String(metadata={"description": "External only"})
    risk = ma.fields.Nested(RiskOutcomeSchema, metadata={"description": "What the risk rules decided"})
    hold_id = ma.fields.String(metadata={"description": "Held for review only: the hold on the amount"})


class StatementQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None)
    from_ = ma.fields.AwareDateTime(data_key="from", load_default=None, default_timezone=None)
    to = ma.fields.AwareDateTime(load_default=None)
    category = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=64))


class StatementLineSchema(ma.Schema):
    id = ma.fields.String()
    transfer_id = ma.fields.String()
    kind = ma.fields.String()
    amount = ma.fields.String()
    currency = ma.fields.String()
    balance_after = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    merchant = ma.fields.String(allow_none=True)
    categorized_by = ma.fields.String(allow_none=True, metadata={"enum": ["request", "rule", "default", "customer"]})
    created_at = ma.fields.String()


class StatementPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StatementLineSchema))
    next_cursor = ma.fields.String(allow_none=True)


class BatchItemSchema(TransferRequestSchema):
    # The batch moves money between this bank's accounts only.
    to_account_id = ID
    to_iban = ma.fields.Constant(None, load_only=True, metadata={"description": "Not in a batch"})
    idempotency_key = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))


class BatchRequestSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Dict(), required=True, validate=ma.validate.Length(min=1, max=1000))
    notify = ma.fields.Boolean(load_default=True)


class BatchItemResultSchema(ma.Schema):
    index = ma.fields.Integer(metadata={"description": "The item's place in the request, from 0"})
    status = ma.fields.Integer(metadata={"description": "201 posted, else the problem's status"})
    body = ma.fields.Dict(metadata={"description": "The transfer (as POST /transfers answers it) or a problem"})


class BatchResultSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BatchItemResultSchema))
    posted = ma.fields.Integer()
    failed = ma.fields.Integer()


class LedgerAccountSchema(ma.Schema):
    account_id = ma.fields.String()
    customer_id = ma.fields.String(allow_none=True)
    currency = ma.fields.String()
    status = ma.fields.String()
    balance = ma.fields.String()
    available_balance = ma.fields.String()
    held = ma.fields.String()
    overdraft_limit = ma.fields.String()
