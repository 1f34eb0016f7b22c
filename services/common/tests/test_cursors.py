"""The one cursor codec: what encode() gives out decode() takes back; anything else is a 422."""
import base64
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from services.common import cursors
from services.common.cursors import BadCursor, day, decode, encode, key, moment, row_number

AT = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=timezone.utc)
ROW = uuid.UUID("6f1c5c1e-8a43-4a8e-9a55-3f8f3b1b2c4d")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json(value) -> str:
    return _b64(json.dumps(value).encode())


@pytest.mark.parametrize("parts, parsers", [
    ((AT, ROW), (moment, uuid.UUID)),
    ((AT, 9_223_372_036_854_775_807), (moment, row_number)),
    ((date(2026, 1, 1), ROW), (day, uuid.UUID)),
    ((AT.replace(microsecond=123000), "n-1"), (moment, key)),   # MongoDB keeps milliseconds
    ((17,), (row_number,)),
])
def test_what_encode_gives_out_decode_takes_back(parts, parsers):
    cursor = encode(*parts)
    assert decode(cursor, *parsers) == parts
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_moment_comes_back_in_utc_whatever_offset_it_was_written_with():
    written = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    (back,) = decode(encode(written), moment)
    assert back == written and back.tzinfo == timezone.utc


HOSTILE = {
    "empty": "",
    "not base64": "%%%",
    "outside the url-safe alphabet": "garbage!",
    "non-ASCII": "é" * 8,
    "impossible length": "a",
    "not JSON": _b64(b"nope"),
    "not UTF-8": _b64(b"\xff\xfe[\"a\"]"),
    "UTF-16 JSON": _b64('["a"]'.encode("utf-16")),
    "an object": _json({"t": AT.isoformat(), "id": str(ROW)}),
    "a query operator": _json({"$gt": ""}),
    "a string": _json("x"),
    "a number": _json(12),
    "null": _json(None),
    "numbers inside": _json([1, 2]),
    "nested": _json([[AT.isoformat()], str(ROW)]),
    "too few": _json([AT.isoformat()]),
    "too many": _json([AT.isoformat(), str(ROW), "x"]),
    "no parts": _json([]),
    "not a datetime": _json(["yesterday", str(ROW)]),
    "naive datetime": _json(["2026-11-25T10:00:00", str(ROW)]),
    "offset overflows": _json(["0001-01-01T00:00:00+05:00", str(ROW)]),
    "not a uuid": _json([AT.isoformat(), "42"]),
    "lone surrogate": _b64(b'["2026-11-25T10:00:00+00:00", "\\ud800"]'),
    "NaN": _b64(b"[NaN, 1]"),
    "deep nesting": _b64(b"[" * 380),
    "too long": "A" * (cursors.MAX_LENGTH + 4),
}


@pytest.mark.parametrize("cursor", HOSTILE.values(), ids=HOSTILE.keys())
def test_anything_else_is_a_validation_error_on_cursor(cursor):
    with pytest.raises(BadCursor) as refused:
        decode(cursor, moment, uuid.UUID)
    error = refused.value
    assert (error.status, error.code) == (422, "validation_error")
    assert error.body()["errors"] == {"cursor": ["The cursor is not one this API gave out."]}


@pytest.mark.parametrize("text", ["-1", "１２", " 12", "1_000", "1e3", str(2**63), "9" * 400, ""])
def test_a_row_number_is_ascii_digits_within_bigint(text):
    with pytest.raises(BadCursor):
        decode(_json([text]), row_number)


def test_an_empty_key_is_refused():
    with pytest.raises(BadCursor):
        decode(_json(["2026-11-25T10:00:00+00:00", ""]), moment, key)
