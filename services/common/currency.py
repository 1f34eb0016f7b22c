"""ISO 4217 currencies and their minor units, from the maintained iso4217 package (shared by services)."""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from iso4217 import Currency


def minor_units(code: str) -> int | None:
    """Decimal places of a currency, or None for an unknown or non-monetary code."""
    try:
        currency = Currency(code.upper()) if code.isalpha() and len(code) == 3 else None
    except ValueError:
        return None
    if currency is None or currency.exponent is None:
        return None  # funds and precious metals (XAU, XDR) carry no minor unit
    return currency.exponent


def all_currencies() -> list[dict]:
    return [
        {"code": c.code, "name": c.currency_name, "minor_units": c.exponent}
        for c in sorted(Currency, key=lambda c: c.code)
        if c.exponent is not None
    ]


def quantum(code: str) -> Decimal:
    units = minor_units(code)
    if units is None:
        raise ValueError(f"unknown currency {code}")
    return Decimal(1).scaleb(-units)


# Every code minor_units() knows, for the OpenAPI document's `enum`.
CURRENCY_CODES = sorted(c.code for c in Currency if c.exponent is not None)
_KNOWN = frozenset(CURRENCY_CODES)


def is_currency_code(value: str) -> bool:
    """An ISO 4217 code with minor units, exactly as written (capitals)."""
    return value in _KNOWN


class CurrencyCode(ma.fields.String):
    """An ISO 4217 code with minor units, in capitals; the document lists them (`enum`)."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"enum": CURRENCY_CODES, "example": "EUR", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_currency_code(text):
            raise ma.ValidationError("Unknown ISO 4217 currency.")
        return text
