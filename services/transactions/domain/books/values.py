"""Checks and shapes shared by the books: currency codes, exact decimals, UTC dates."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from services.common.currency import minor_units
from services.common.errors import Problem


def known_currency(code: object, field: str = "currency") -> str:
    """An ISO 4217 code with minor units, upper-cased; else 422 validation_error on `field`."""
    if isinstance(code, str) and len(code) == 3 and code.isascii() and code.isalpha():
        upper = code.upper()
        if minor_units(upper) is not None:
            return upper
    raise Problem(422, "validation_error", "Unknown ISO 4217 currency.",
                  errors={field: ["Unknown ISO 4217 currency."]})


def invalid(field: str, message: str) -> Problem:
    return Problem(422, "validation_error", message, errors={field: [message]})


def decimal_text(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 1.084200000000 -> "1.0842", 100 -> "100"."""
    return format(value.normalize(), "f")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def utc_today() -> date:
    return utc_now().date()


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# Moments a query may ask about: far enough from datetime's limits that converting any UTC
# offset to UTC cannot overflow (a 500), and wider than any book the bank keeps.
EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=timezone.utc)


def newest_first_page(table: str, columns: str, order: tuple[str, str], *, limit: int,
                      after: tuple | None, status: str | None) -> tuple[str, dict]:
    """The query of one page of `table`, newest first by `order` (a column and the id), after
    the row whose values of those two are `after` (from its cursor) and of one `status` if
    given; it fetches one row more than `limit` so the caller knows whether a next page exists."""
    where, params = ["true"], {"limit": limit + 1}
    if status:
        where.append("status = :status")
        params["status"] = status
    if after:
        params["c_first"], params["c_id"] = after
        where.append(f"({order[0]}, {order[1]}) < (:c_first, :c_id)")
    query = (f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)} "
             f"ORDER BY {order[0]} DESC, {order[1]} DESC LIMIT :limit")
    return query, params
