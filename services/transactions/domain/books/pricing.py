"""What a cross-currency transfer costs and converts to, for the transfer path to call in its
transaction (it owns the postings; this owns the rate, the rounding and the fee rule).

A transfer of `amount` in the source currency A to an account in currency B, at the rate r
in force (B per one A) and a fee f in A (the `fx` fee, on top of the amount), posts through
the bank's FX clearing account of each currency and its fee income account of A:

    source (A)          -(amount + f)
    FX clearing A       +amount
    fee income A        +f            (no leg when f is 0)
    FX clearing B       -converted    (converted = amount * r, half-even to B's minor units)
    target (B)          +converted

Each currency sums to zero, so the entry balances per currency; the FX clearing accounts
carry the bank's position in each currency (chart 1300-A, 1300-B; fees 4100-A).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from services.common.amounts import from_minor
from services.common.errors import Problem

from .fees import fee_for
from .fx import convert, rate_at
from .values import decimal_text

# A posting is BIGINT minor units; an amount is at most 12 + 3 digits of them (amounts.py),
# but a conversion can multiply it by up to ten billion.
MAX_MINOR = 10 ** 15 - 1


@dataclass(frozen=True)
class FxQuote:
    amount: int               # minor units of `currency`, what the customer sends (fee not included)
    currency: str
    rate: Decimal             # converted_currency per one currency
    converted_amount: int     # minor units of `converted_currency`
    converted_currency: str
    fee: int                  # minor units of `currency`, charged on top of `amount`

    def legs(self, *, source: str, target: str, fx_clearing: dict[str, str],
             fee_income: str) -> list[tuple[str, int, str]]:
        """(account id, signed minor units, currency) of the entry, in posting order."""
        legs = [(source, -(self.amount + self.fee), self.currency),
                (fx_clearing[self.currency], self.amount, self.currency)]
        if self.fee:
            legs.append((fee_income, self.fee, self.currency))
        legs += [(fx_clearing[self.converted_currency], -self.converted_amount, self.converted_currency),
                 (target, self.converted_amount, self.converted_currency)]
        return legs

    def as_json(self) -> dict:
        return {"fx_rate": decimal_text(self.rate),
                "converted_amount": from_minor(self.converted_amount, self.converted_currency),
                "converted_currency": self.converted_currency, "fee": from_minor(self.fee, self.currency)}


def price(amount: int, currency: str, to_currency: str, rate: Decimal, fee: int = 0,
          expected_rate: Decimal | None = None) -> FxQuote:
    """The pure part: check the expected rate, convert, refuse what cannot be posted."""
    if expected_rate is not None and expected_rate != rate:
        raise Problem(409, "fx_rate_changed",
                      f"The {currency}/{to_currency} rate is {decimal_text(rate)}, not {decimal_text(expected_rate)}.",
                      fx_rate=decimal_text(rate))
    converted = convert(amount, currency, to_currency, rate)
    if converted <= 0:
        raise Problem(422, "validation_error", f"The amount converts to nothing in {to_currency}.",
                      errors={"amount": [f"Too small to convert to {to_currency}."]})
    if converted > MAX_MINOR or amount + fee > MAX_MINOR:
        raise Problem(422, "validation_error", f"The amount is too large once converted to {to_currency}.",
                      errors={"amount": ["Too large once converted."]})
    return FxQuote(amount, currency, rate, converted, to_currency, fee)


def quote_fx(session: Session, amount: int, currency: str, to_currency: str, *,
             expected_rate: Decimal | None = None, at: datetime | None = None) -> FxQuote:
    """The rate in force at `at` (default now) and the `fx` fee, or 422 fx_rate_unavailable /
    409 fx_rate_changed."""
    rate = rate_at(session, currency, to_currency, at)
    if rate is None:
        raise Problem(422, "fx_rate_unavailable", f"No {currency}/{to_currency} rate is in force.")
    return price(amount, currency, to_currency, rate, fee_for(session, "fx", amount, currency, at), expected_rate)
