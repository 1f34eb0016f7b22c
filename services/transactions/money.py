"""Amounts: decimal strings at the edge, integer minor units inside the ledger."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .currencies import minor_units


class MoneyError(ValueError):
    """An amount that cannot be money in its currency; the message says why."""


def exponent(currency: str) -> int:
    units = minor_units(currency)
    if units is None:
        raise MoneyError(f"Unknown currency {currency!r}.")
    return units


def parse_amount(text: str | Decimal, currency: str) -> Decimal:
    """A decimal amount with no more places than the currency allows (may be any sign)."""
    places = exponent(currency)
    try:
        amount = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise MoneyError("Not a decimal amount.") from None
    if not amount.is_finite():
        raise MoneyError("Not a decimal amount.")
    # Strict on the text: "1.500" in EUR is refused like "1.501", as the API contract says.
    if -amount.as_tuple().exponent > places:
        raise MoneyError(f"{currency} amounts have at most {places} decimal places.")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    places = exponent(currency)
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{currency} amounts have at most {places} decimal places.")
    return int(scaled)


def from_minor(units: int, currency: str) -> str:
    """Minor units as the API's decimal string, with exactly the currency's places."""
    places = exponent(currency)
    return str(Decimal(units).scaleb(-places).quantize(Decimal(1).scaleb(-places)))
