"""Request and response shapes of the money-movement API."""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma

from ..currencies import minor_units
from ..money import MoneyError, parse_amount

ID = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))


class MoneySchema(ma.Schema):
    """An amount string and an ISO 4217 currency; checked together for places and sign."""

    amount = ma.fields.String(required=True, metadata={"example": "1250.50"})
    currency = ma.fields.String(required=True, validate=ma.validate.Length(equal=3),
                                metadata={"example": "EUR"})

    @ma.validates_schema(skip_on_field_errors=False)
    def _amount_fits_currency(self, data, **_kwargs):
        currency, amount = data.get("currency"), data.get("amount")
        if currency is None or amount is None:
            return
        if minor_units(currency.upper()) is None:
            raise ma.ValidationError("Unknown ISO 4217 currency.", field_name="currency")
        try:
            value = parse_amount(amount, currency.upper())
        except MoneyError as exc:
            raise ma.ValidationError(str(exc), field_name="amount") from None
        if value <= 0:
            raise ma.ValidationError("Must be greater than zero.", field_name="amount")

    @ma.post_load
    def _normalise(self, data, **_kwargs):
        data["currency"] = data["currency"].upper()
        data["amount"] = Decimal(data["amount"])
        return data


class TransferRequestSchema(MoneySchema):
    from_account_id = ID
    to_account_id = ID
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=140))
    category = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=64))


class DepositRequestSchema(MoneySchema):
    account_id = ID
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=140))


class ReverseRequestSchema(ma.Schema):
    description = ma.fields.String(load_default=None, validate=ma.validate.Length(max=140))


class TransferSchema(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String()
    from_account_id = ma.fields.String()
    to_account_id = ma.fields.String()
    amount = ma.fields.String()
    currency = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    reverses_transfer_id = ma.fields.String(allow_none=True)
    reversed_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()


class StatementQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None)
    from_ = ma.fields.AwareDateTime(data_key="from", load_default=None, default_timezone=None)
    to = ma.fields.AwareDateTime(load_default=None)
    category = ma.fields.String(load_default=None)


class StatementLineSchema(ma.Schema):
    id = ma.fields.String()
    transfer_id = ma.fields.String()
    kind = ma.fields.String()
    amount = ma.fields.String()
    currency = ma.fields.String()
    balance_after = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()


class StatementPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StatementLineSchema))
    next_cursor = ma.fields.String(allow_none=True)


class BatchItemSchema(TransferRequestSchema):
    idempotency_key = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))


class BatchRequestSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Dict(), required=True, validate=ma.validate.Length(min=1, max=1000))
    notify = ma.fields.Boolean(load_default=True)


class LedgerAccountSchema(ma.Schema):
    account_id = ma.fields.String()
    customer_id = ma.fields.String(allow_none=True)
    currency = ma.fields.String()
    status = ma.fields.String()
    balance = ma.fields.String()
    available_balance = ma.fields.String()
    held = ma.fields.String()
    overdraft_limit = ma.fields.String()
