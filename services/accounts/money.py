"""Decimal amounts as the API shows them: strings with the currency's minor units."""
from __future__ import annotations

from decimal import Decimal

from services.common.currency import quantum


def format_amount(amount: Decimal, currency: str) -> str:
    return str(Decimal(amount).quantize(quantum(currency)))
