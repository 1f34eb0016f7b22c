"""Money at the edge: the one strict parser of amounts, shared by every service.

The contract (API.md, "Input that is never a 5xx") allows exactly `^[0-9]{1,12}(\\.[0-9]+)?$`
on the raw string: no sign, exponent, spaces, underscores or non-ASCII digits, at most
999,999,999,999 in major units, and no more fraction digits than the currency has. The
pattern is checked before `Decimal` ever sees the text, so "1E+999999999" cannot make
arithmetic explode and no amount can overflow a BIGINT of minor units (12 + 3 digits).
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Mapping

import marshmallow as ma

from .currency import minor_units
from .fields import anchored

# re.ASCII: `[0-9]` only ever means the ten ASCII digits; fullmatch: nothing around them.
AMOUNT_PATTERN = re.compile(r"[0-9]{1,12}(\.[0-9]+)?", re.ASCII)
MAX_MAJOR_DIGITS = 12
AMOUNT_RULE = ("a decimal string of ASCII digits with an optional fraction, "
               "at most 999999999999 in major units")


class AmountError(ValueError):
    """An amount that cannot be money (in its currency); the message says why."""


def check_amount_text(text: Any) -> str:
    """The shape rule alone (no currency): returns the text unchanged or raises."""
    if not isinstance(text, str):
        raise AmountError("An amount is a decimal string.")
    if AMOUNT_PATTERN.fullmatch(text) is None:
        raise AmountError(f"An amount is {AMOUNT_RULE}.")
    return text


def currency_places(currency: Any) -> int:
    places = minor_units(currency) if isinstance(currency, str) else None
    if places is None:
        raise AmountError(f"Unknown currency {currency!r}.")
    return places


def parse_amount(text: Any, currency: Any, *, allow_zero: bool = False) -> Decimal:
    """A money amount in `currency` from its wire text; positive unless allow_zero."""
    check_amount_text(text)
    places = currency_places(currency)
    fraction = text.partition(".")[2]
    if len(fraction) > places:
        raise AmountError(f"{currency} amounts have at most {places} decimal places.")
    amount = Decimal(text)
    if amount == 0 and not allow_zero:
        raise AmountError("The amount must be greater than zero.")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """Integer minor units of an amount already within the currency's places."""
    places = currency_places(currency)
    scaled = Decimal(amount).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{currency} amounts have at most {places} decimal places.")
    return int(scaled)


def from_minor(units: int, currency: str) -> str:
    """Minor units as the API's decimal string, with exactly the currency's places."""
    places = currency_places(currency)
    return str(Decimal(units).scaleb(-places).quantize(Decimal(1).scaleb(-places)))


def format_amount(amount: Decimal, currency: str) -> str:
    places = currency_places(currency)
    return str(Decimal(amount).quantize(Decimal(1).scaleb(-places)))


class AmountString(ma.fields.String):
    """An amount on the wire: the shape rule here, the currency's places in the schema
    (`validate_amount_for_currency`), since the currency is a sibling field. The OpenAPI
    document carries the shape rule as its pattern."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"pattern": anchored(AMOUNT_PATTERN), **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ma.ValidationError("An amount is a decimal string.")
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_amount_text(text)
        except AmountError as error:
            raise ma.ValidationError(str(error)) from None


def validate_amount_for_currency(data: Mapping[str, Any], amount_field: str = "amount",
                                 currency_field: str = "currency", *,
                                 allow_zero: bool = False) -> None:
    """For a schema's @validates_schema: the amount fits its currency, else a field error."""
    text, currency = data.get(amount_field), data.get(currency_field)
    if text is None or currency is None or minor_units(currency) is None:
        return  # missing or unknown currency: reported by the fields themselves
    try:
        parse_amount(text, currency, allow_zero=allow_zero)
    except AmountError as error:
        raise ma.ValidationError({amount_field: [str(error)]}) from None
