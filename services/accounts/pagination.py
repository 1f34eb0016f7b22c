"""Opaque cursors for keyset pagination: base64 of a small JSON document."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from services.common.errors import Problem


def encode_cursor(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def malformed_cursor() -> Problem:
    return Problem(422, "validation_error", "The cursor is malformed.",
                   errors={"cursor": ["Not a cursor from this API."]})


def decode_cursor(cursor: str) -> dict:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except (ValueError, UnicodeDecodeError):
        raise malformed_cursor() from None


def decode_keyset(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, id) a page starts after, from a cursor made of {"t", "id"}; None for page one."""
    if not cursor:
        return None
    data = decode_cursor(cursor)
    try:
        return datetime.fromisoformat(data["t"]), uuid.UUID(data["id"])
    except (KeyError, TypeError, ValueError):
        raise malformed_cursor() from None
