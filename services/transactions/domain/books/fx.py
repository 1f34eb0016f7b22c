"""FX rates with history: records are appended, never changed; the rate in force for a pair
at a moment is the newest record (by effective_from, then by entry order) of the pair or of
its opposite pair, the latter served inverted. No triangulation: EUR->USD and EUR->GBP do
not give USD->GBP.

Rates are exact decimals (NUMERIC(22,12) in the database, Decimal here), never floats, and
are not amounts: their own strict rule is `^[0-9]{1,10}(\\.[0-9]{1,12})?$`, greater than 0.
An inverted rate is 1/rate rounded half-even to 12 decimals, and that is the rate a
conversion uses and shows, so a customer can check the arithmetic.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common import cursors
from services.common.currency import minor_units

from .values import decimal_text, invalid, known_currency, rfc3339, utc_now

RATE_PATTERN = re.compile(r"[0-9]{1,10}(\.[0-9]{1,12})?", re.ASCII)
RATE_PLACES = 12
RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
# A rate may be back-dated freely, but not announced more than a year ahead.
MAX_AHEAD = timedelta(days=365)
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)


class RateError(ValueError):
    """Rate text that is not a rate; the message says why."""


def parse_rate(raw: object) -> Decimal:
    """A rate from its wire text: ASCII digits, at most 10 before and 12 after the point, > 0."""
    if not isinstance(raw, str):
        raise RateError("A rate is a decimal string.")
    if RATE_PATTERN.fullmatch(raw) is None:
        raise RateError("A rate is a decimal string of ASCII digits, at most 10 before the point "
                        "and 12 after it.")
    rate = Decimal(raw)
    if rate <= 0:
        raise RateError("A rate is greater than zero.")
    return rate


def inverse(rate: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 60
        return (Decimal(1) / rate).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


def convert(amount_minor: int, from_ccy: str, to_ccy: str, rate: Decimal) -> int:
    """`amount_minor` of from_ccy in minor units of to_ccy at `rate` (to per one from), rounded
    half-even to the target's minor units (JPY 0, EUR 2, BHD 3)."""
    source_places, target_places = minor_units(from_ccy), minor_units(to_ccy)
    if source_places is None or target_places is None:
        raise ValueError(f"unknown currency in {from_ccy}->{to_ccy}")
    with localcontext() as context:
        context.prec = 60  # 15 digits of minor units times 22 digits of rate, exactly
        major = Decimal(amount_minor).scaleb(-source_places) * rate
        return int(major.scaleb(target_places).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class RateRecord:
    id: int
    base: str
    quote: str
    rate: Decimal
    effective_from: datetime
    created_at: datetime
    created_by: str

    def as_json(self) -> dict:
        return {"id": str(self.id), "base": self.base, "quote": self.quote, "rate": decimal_text(self.rate),
                "effective_from": rfc3339(self.effective_from), "created_at": rfc3339(self.created_at),
                "created_by": self.created_by}


_COLUMNS = "id, base, quote, rate, effective_from, created_at, created_by"


def _record(row) -> RateRecord:
    return RateRecord(row.id, row.base.strip(), row.quote.strip(), row.rate, row.effective_from,
                      row.created_at, row.created_by)


def check_effective_from(moment: datetime, now: datetime | None = None) -> datetime:
    now = now or utc_now()
    if moment.tzinfo is None:
        raise invalid("effective_from", "A time with its UTC offset (RFC 3339).")
    if moment > now + MAX_AHEAD:
        raise invalid("effective_from", "A rate takes effect at most a year ahead.")
    if moment < EARLIEST:
        raise invalid("effective_from", "A rate takes effect in 1970 or later.")
    return moment


def put_rate(session: Session, *, base: str, quote: str, rate: Decimal, effective_from: datetime,
             created_by: str) -> tuple[RateRecord, bool]:
    """Append a rate record; (record, created). A repeat of the pair's newest record for the
    same effective_from (a retried PUT) answers that record and adds nothing."""
    base, quote = known_currency(base, "base"), known_currency(quote, "quote")
    if base == quote:
        raise invalid("quote", "A rate is between two different currencies.")
    check_effective_from(effective_from)
    latest = session.execute(text(
        f"SELECT {_COLUMNS} FROM fx_rates WHERE base = :base AND quote = :quote "
        "AND effective_from = :at ORDER BY id DESC LIMIT 1"),
        {"base": base, "quote": quote, "at": effective_from}).first()
    if latest is not None and latest.rate == rate:
        return _record(latest), False
    row = session.execute(text(
        f"INSERT INTO fx_rates (base, quote, rate, effective_from, created_by) "
        f"VALUES (:base, :quote, :rate, :at, :by) RETURNING {_COLUMNS}"),
        {"base": base, "quote": quote, "rate": rate, "at": effective_from, "by": created_by}).one()
    return _record(row), True


# The newest record in force of each pair that has `base` on either side.
_IN_FORCE = text(f"""
    SELECT DISTINCT ON (base, quote) {_COLUMNS}
      FROM fx_rates
     WHERE (base = :base OR quote = :base) AND effective_from <= :at
     ORDER BY base, quote, effective_from DESC, id DESC
""")

_PAIR_IN_FORCE = text(f"""
    (SELECT {_COLUMNS} FROM fx_rates WHERE base = :base AND quote = :quote AND effective_from <= :at
      ORDER BY effective_from DESC, id DESC LIMIT 1)
    UNION ALL
    (SELECT {_COLUMNS} FROM fx_rates WHERE base = :quote AND quote = :base AND effective_from <= :at
      ORDER BY effective_from DESC, id DESC LIMIT 1)
""")


def _served(record: RateRecord, base: str) -> Decimal:
    return record.rate if record.base == base else inverse(record.rate)


def _newest(records: list[RateRecord]) -> RateRecord:
    return max(records, key=lambda r: (r.effective_from, r.id))


def rate_at(session: Session, base: str, quote: str, at: datetime | None = None) -> Decimal | None:
    """Units of `quote` per one `base` in force at `at` (default now); None when no rate is."""
    if base == quote:
        return Decimal(1)
    rows = session.execute(_PAIR_IN_FORCE, {"base": base, "quote": quote, "at": at or utc_now()}).all()
    if not rows:
        return None
    return _served(_newest([_record(row) for row in rows]), base)


def rates_at(session: Session, base: str, at: datetime | None = None) -> dict[str, Decimal]:
    """Every quote with a rate against `base` in force at `at`: {quote: rate}."""
    base = known_currency(base, "base")
    by_quote: dict[str, list[RateRecord]] = {}
    for row in session.execute(_IN_FORCE, {"base": base, "at": at or utc_now()}):
        record = _record(row)
        other = record.quote if record.base == base else record.base
        by_quote.setdefault(other, []).append(record)
    return {quote: _served(_newest(records), base) for quote, records in sorted(by_quote.items())}


def history_page(session: Session, base: str, quote: str | None, *, limit: int,
                 cursor: str | None = None) -> tuple[list[RateRecord], str | None]:
    """The records of the pair (both directions; every pair of `base` without a quote),
    newest first by effective_from, keyset-paginated."""
    base = known_currency(base, "base")
    params: dict = {"base": base, "limit": limit + 1}
    if quote is None:
        where = "(base = :base OR quote = :base)"
    else:
        params["quote"] = known_currency(quote, "quote")
        where = "((base = :base AND quote = :quote) OR (base = :quote AND quote = :base))"
    if cursor:
        params["c_at"], params["c_id"] = cursors.decode(cursor, cursors.moment, cursors.row_number)
        where += " AND (effective_from, id) < (:c_at, :c_id)"
    rows = session.execute(text(
        f"SELECT {_COLUMNS} FROM fx_rates WHERE {where} ORDER BY effective_from DESC, id DESC LIMIT :limit"),
        params).all()
    records = [_record(row) for row in rows[:limit]]
    next_cursor = cursors.encode(records[-1].effective_from, records[-1].id) if len(rows) > limit else None
    return records, next_cursor


def load_rates(session: Session, rates: list[tuple[str, str, str]], effective_from: datetime,
               created_by: str) -> int:
    """Append (base, quote, rate text) records when the table is empty (demo data); how many."""
    if session.execute(text("SELECT EXISTS (SELECT 1 FROM fx_rates)")).scalar_one():
        return 0
    for base, quote, rate in rates:
        put_rate(session, base=base, quote=quote, rate=parse_rate(rate), effective_from=effective_from,
                 created_by=created_by)
    return len(rates)
