"""The fee schedule: per kind (fx, external, international) and currency, a percent of the
amount with a minimum. Every change is a new row; the newest row of a (kind, currency) is in
force, the older ones are the history.

`fee_for` is what the transfer path charges, in the transfer's (source) currency:
  fee = max(amount * percent / 100 rounded half-even to minor units, minimum).
The minimum is set per currency. When the kind has no row in the transfer's currency, the
row in the bank's base currency (EUR), else the most recently set row of the kind, applies:
its percent as is and its minimum converted at the FX rate in force (half-even to the
transfer's minor units); with no rate in force for that conversion the fee is refused as
`fx_rate_unavailable` (422), never silently waived. No row at all for the kind: no fee.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common.amounts import from_minor
from services.common.errors import Problem

from .fx import convert, rate_at
from .values import invalid, known_currency, rfc3339

KINDS = ("fx", "external", "international")
BASE_CURRENCY = "EUR"
PERCENT_PATTERN = re.compile(r"[0-9]{1,3}(\.[0-9]{1,4})?", re.ASCII)


def parse_percent(raw: object) -> Decimal:
    """A percent from its wire text ("0.50" is half a percent): 0 to 100, at most 4 decimals."""
    if not isinstance(raw, str) or PERCENT_PATTERN.fullmatch(raw) is None:
        raise ValueError("A percent is a decimal string of ASCII digits with at most 4 decimals.")
    percent = Decimal(raw)
    if percent > 100:
        raise ValueError("A percent is at most 100.")
    return percent


@dataclass(frozen=True)
class Fee:
    id: int
    kind: str
    percent: Decimal
    minimum: int
    currency: str
    created_at: datetime
    created_by: str

    def as_json(self) -> dict:
        return {"kind": self.kind, "percent": percent_text(self.percent),
                "minimum": from_minor(self.minimum, self.currency), "currency": self.currency,
                "effective_from": rfc3339(self.created_at), "created_by": self.created_by}


def percent_text(percent: Decimal) -> str:
    """At least two decimals, more only when set: "20.00", "0.125"."""
    cents = percent.quantize(Decimal("0.01"))
    return format(cents if cents == percent else percent.normalize(), "f")


_COLUMNS = "id, kind, percent, minimum, currency, created_at, created_by"


def _fee(row) -> Fee:
    return Fee(row.id, row.kind, row.percent, row.minimum, row.currency.strip(), row.created_at, row.created_by)


def put_fee(session: Session, *, kind: str, percent: Decimal, minimum: int, currency: str,
            created_by: str) -> Fee:
    if kind not in KINDS:
        raise invalid("kind", f"One of {', '.join(KINDS)}.")
    currency = known_currency(currency)
    row = session.execute(text(
        f"INSERT INTO fee_schedule (kind, percent, minimum, currency, created_by) "
        f"VALUES (:kind, :percent, :minimum, :currency, :by) RETURNING {_COLUMNS}"),
        {"kind": kind, "percent": percent, "minimum": minimum, "currency": currency, "by": created_by}).one()
    return _fee(row)


def schedule(session: Session) -> list[Fee]:
    """The fees in force: the newest row of each (kind, currency)."""
    rows = session.execute(text(
        f"SELECT DISTINCT ON (kind, currency) {_COLUMNS} FROM fee_schedule "
        "ORDER BY kind, currency, id DESC")).all()
    return [_fee(row) for row in rows]


def fee_in_force(session: Session, kind: str, currency: str) -> Fee | None:
    """The row that prices `kind` for an amount in `currency` (see the module's rule)."""
    candidates = [fee for fee in schedule(session) if fee.kind == kind]
    for fee in candidates:
        if fee.currency == currency:
            return fee
    for fee in candidates:
        if fee.currency == BASE_CURRENCY:
            return fee
    return max(candidates, key=lambda f: f.id, default=None)


def percent_of(amount_minor: int, percent: Decimal) -> int:
    with localcontext() as context:
        context.prec = 50
        return int((Decimal(amount_minor) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def fee_for(session: Session, kind: str, amount_minor: int, currency: str, at: datetime | None = None) -> int:
    """The fee in minor units of `currency` for moving `amount_minor` of it (0 without a fee)."""
    fee = fee_in_force(session, kind, currency)
    if fee is None:
        return 0
    minimum = fee.minimum
    if fee.currency != currency and minimum:
        rate = rate_at(session, fee.currency, currency, at)
        if rate is None:
            raise Problem(422, "fx_rate_unavailable",
                          f"No {fee.currency}/{currency} rate is in force to price the {kind} fee.")
        minimum = convert(minimum, fee.currency, currency, rate)
    return max(percent_of(amount_minor, fee.percent), minimum)

