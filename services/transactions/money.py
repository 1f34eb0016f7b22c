"""Amounts: decimal strings at the edge, integer minor units inside the ledger.

One parser for the whole suite (services/common/amounts.py, API.md "Input that is never a
5xx"): the raw text must match `^[0-9]{1,12}(\\.[0-9]+)?$` before any arithmetic, so an
exponent, a sign, spaces, non-ASCII digits or a BIGINT-sized number never reach Decimal or
the database. This module only names it for the ledger.
"""
from __future__ import annotations

from services.common.amounts import AmountError, currency_places, from_minor, parse_amount, to_minor

MoneyError = AmountError
exponent = currency_places

__all__ = ["MoneyError", "exponent", "from_minor", "parse_amount", "to_minor"]
