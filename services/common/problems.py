"""RFC 9457 problem details for every error a service or the gateway answers: the Flask side.

The errors themselves (DomainError, Problem, the body's shape) live in errors.py, which
needs no Flask; here they become application/problem+json responses, one handler for every
DomainError, with werkzeug's HTTP errors and anything unexpected answered the same way.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from .errors import DomainError, flatten_messages, problem_body

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


def problem_response(status: int, code: str | None = None, detail: str | None = None,
                     title: str | None = None, headers: dict[str, str] | None = None,
                     **extra: Any) -> Response:
    return _response(problem_body(status, code, detail, title, **extra), headers)


def _response(body: dict[str, Any], headers: dict[str, str] | None) -> Response:
    response = Response(json.dumps(body), status=body["status"], mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


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
    app.register_error_handler(DomainError, domain_error_response)
    app.register_error_handler(HTTPException, _http_exception_problem)
    app.register_error_handler(Exception, _unexpected)


def domain_error_response(error: DomainError) -> Response:
    return _response(error.body(), error.headers)


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_exception_problem(error)
    log.exception("unhandled error")
    return problem_response(500, "internal_error", "An unexpected error occurred.")
