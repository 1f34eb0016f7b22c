"""RFC 9457 problem details for every error a service or the gateway answers.

Each problem carries a stable snake_case `code` that clients can branch on; the title and
detail are for people.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class Problem(Exception):
    """Raise anywhere below a handler to answer with a problem document."""

    def __init__(self, status: int, code: str | None = None, detail: str | None = None,
                 title: str | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail or code or str(status))
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "error")
        self.detail = detail
        self.title = title
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, code: str | None = None, detail: str | None = None,
                     title: str | None = None, headers: dict[str, str] | None = None,
                     **extra: Any) -> Response:
    code = code or DEFAULT_CODES.get(status, "error")
    body = {
        "type": f"https://errors.finovabank.example/{code}",
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail or "",
        "code": code,
        **extra,
    }
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into {"field.sub": ["message", ...]}."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, name))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": messages}
    return {prefix or "_schema": [str(messages)]}


def _http_exception_problem(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if status == 422 and messages:
        # webargs nests by location ("json", "query"); clients care about field names.
        fields: dict[str, list[str]] = {}
        for location_messages in messages.values():
            fields.update(flatten_messages(location_messages))
        return problem_response(422, "validation_error", "The request has invalid fields.",
                                errors=fields)
    if status == 400 and messages:
        return problem_response(400, "malformed_request", _first_message(messages))
    headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    return problem_response(status, data.get("code"), error.description, headers=headers)


def _first_message(messages: Any) -> str:
    flat = flatten_messages(messages)
    for values in flat.values():
        if values:
            return values[0]
    return "The request is malformed."


def init_problems(app: Flask) -> None:
    app.register_error_handler(Problem, problem_from_exception)
    app.register_error_handler(HTTPException, _http_exception_problem)
    app.register_error_handler(Exception, _unexpected)


def problem_from_exception(error: Problem) -> Response:
    return problem_response(error.status, error.code, error.detail, error.title,
                            error.headers, **error.extra)


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_exception_problem(error)
    log.exception("unhandled error")
    return problem_response(500, "internal_error", "An unexpected error occurred.")
