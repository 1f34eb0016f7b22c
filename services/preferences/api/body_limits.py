"""Limits every customer request body meets before webargs parses it."""
from __future__ import annotations

from flask import request

from services.common.errors import Problem

from ..input_guard import MAX_BODY_BYTES, MAX_DEPTH, json_nesting_depth


def refuse_unreasonable_body() -> None:
    """Before parsing: cap the size, insist on JSON, bound the depth a parser recurses into."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise Problem(413, "payload_too_large", f"Bodies are limited to {MAX_BODY_BYTES} bytes.")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise Problem(413, "payload_too_large", f"Bodies are limited to {MAX_BODY_BYTES} bytes.")
    if request.method in ("PUT", "PATCH"):
        # Without these a form post or an empty body would parse as "no members": a PUT
        # resetting everything to the defaults.
        if not request.is_json:
            raise Problem(415, "unsupported_media_type",
                          "Send JSON (application/json or application/merge-patch+json).")
        if not raw.strip():
            raise Problem(400, "malformed_request", "A JSON body is required.")
    if json_nesting_depth(raw) > MAX_DEPTH:
        raise Problem(422, "validation_error", f"JSON nests deeper than {MAX_DEPTH} levels.",
                      errors={"_schema": [f"Nesting deeper than {MAX_DEPTH} levels."]})
