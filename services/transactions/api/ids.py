"""Ids in paths: a value that is not a uuid names nothing, so it is the same 404 as an id
that does not exist (never a 500, never a hint of the format)."""
from __future__ import annotations

import uuid

from ..domain.ledger.errors import NotFound


def path_id(value: str, noun: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{noun} {value} does not exist.") from None
