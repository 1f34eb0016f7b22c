"""The request id: taken from X-Request-ID when sane, made otherwise, echoed on every response.

It lives in a context variable so logs and outgoing service calls can read it without Flask.
The same after_request hook, installed on every app, also marks every /api answer
`Cache-Control: no-store` (API.md, "Responses"): balances and statements must not sit in
a browser's or a proxy's cache.
"""
from __future__ import annotations

import contextvars
import re
import uuid

from flask import Flask, Response, request

HEADER = "X-Request-ID"
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Client-supplied ids end up in logs; keep them short and free of control characters.
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
NO_STORE = "no-store"


def current_request_id() -> str | None:
    return _current.get()


def set_request_id(value: str | None) -> contextvars.Token:
    return _current.set(value)


def init_request_id(app: Flask) -> None:
    @app.before_request
    def _take_request_id() -> None:
        supplied = request.headers.get(HEADER, "")
        set_request_id(supplied if _SANE.match(supplied) else str(uuid.uuid4()))

    @app.after_request
    def _echo_request_id(response):
        request_id = current_request_id()
        if request_id:
            response.headers[HEADER] = request_id
        return no_store_on_api(response)

    @app.teardown_request
    def _forget_request_id(_exc) -> None:
        set_request_id(None)


def no_store_on_api(response: Response) -> Response:
    """Every /api response is private and current: never cached, whatever a handler said."""
    if request.path == "/api" or request.path.startswith("/api/"):
        response.headers["Cache-Control"] = NO_STORE
    return response
