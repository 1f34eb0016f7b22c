"""The cursor of a newest-first page keyed on (created_at, id) (a uuid, or `id_type`): opaque to clients, and a
cursor this API did not give out is a 422, never a 500."""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from services.common.errors import Problem


def encode_after(after: tuple[datetime, uuid.UUID] | None) -> str | None:
    if after is None:
        return None
    return base64.urlsafe_b64encode(json.dumps([after[0].isoformat(), str(after[1])]).encode()).decode().rstrip("=")


def decode_after(cursor: str | None, id_type=uuid.UUID) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        moment, found = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(moment), id_type(found)
    except (ValueError, TypeError, binascii.Error):
        raise Problem(422, "validation_error", "The cursor is not one this API gave out.",
                      errors={"cursor": ["The cursor is not one this API gave out."]}) from None
