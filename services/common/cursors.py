"""Opaque cursors for keyset pages: the one codec of the suite (Flask-free).

A cursor names the row a page ended on by its sort key, e.g. (created_at, id): url-safe
base64, unpadded, of a JSON array of those values as strings. Clients treat it as opaque,
so its format may change. `decode` gives the values back through one parser each, and
refuses with BadCursor (422 validation_error on `cursor`) whatever this API did not give
out: bad base64, bytes that are not UTF-8 JSON, another shape or count, a value its parser
refuses or that overflows. A cursor is never a 500.
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone
from typing import Any, Callable

from .errors import DomainError

MESSAGE = "The cursor is not one this API gave out."
# Far above any cursor encode() makes (a moment and a uuid take about 100 characters), and
# short enough that no nesting or size in a forged one costs anything to refuse.
MAX_LENGTH = 512
BIGINT_MAX = 2**63 - 1


class BadCursor(DomainError):
    status, code = 422, "validation_error"
    detail = MESSAGE

    def __init__(self):
        super().__init__(errors={"cursor": [MESSAGE]})


def encode(*parts: object) -> str:
    """The cursor of a page ending on `parts` (a date or datetime as ISO 8601, others as str)."""
    texts = [part.isoformat() if isinstance(part, date) else str(part) for part in parts]
    raw = json.dumps(texts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, *parsers: Callable[[str], Any]) -> tuple:
    """The parts of a cursor encode() made, one per parser and parsed by it; else BadCursor."""
    try:
        parts = _parts(cursor)
        if len(parts) != len(parsers):
            raise ValueError("another number of parts")
        return tuple(parse(part) for parse, part in zip(parsers, parts))
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        # ValueError covers bad base64 (binascii.Error) and bytes that are not UTF-8.
        raise BadCursor() from None


def after(cursor: str | None, *parsers: Callable[[str], Any]) -> tuple | None:
    """Where a page starts: after the parts of `cursor`, or None for the first page (no cursor)."""
    return decode(cursor, *parsers) if cursor else None


def _parts(cursor: str) -> list[str]:
    if not isinstance(cursor, str) or len(cursor) > MAX_LENGTH:
        raise ValueError("not a cursor")
    # validate=True: a character outside the url-safe alphabet is refused, not skipped.
    raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    parts = json.loads(raw.decode("utf-8"))
    if not isinstance(parts, list) or not all(isinstance(part, str) for part in parts):
        raise ValueError("not a list of strings")
    for part in parts:
        part.encode("utf-8")  # a lone surrogate (from a \ud800 escape) is no value we wrote
    return parts


# Parsers for decode(): each returns the value or raises ValueError (or OverflowError).

def moment(text: str) -> datetime:
    """An aware ISO 8601 datetime, in UTC (so no offset can overflow later arithmetic)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a moment has an offset")
    return value.astimezone(timezone.utc)


def day(text: str) -> date:
    return date.fromisoformat(text)


def row_number(text: str) -> int:
    """A BIGINT row id: ASCII digits only, within PostgreSQL's range."""
    if not (text.isascii() and text.isdigit()) or int(text) > BIGINT_MAX:
        raise ValueError("not a row id")
    return int(text)


def key(text: str) -> str:
    """A non-empty string key (a MongoDB _id)."""
    if not text:
        raise ValueError("an empty key")
    return text

