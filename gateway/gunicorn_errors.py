"""gunicorn's own refusals as problem+json.

gunicorn answers some requests before any app code runs: a request line past its limit
(414), a malformed or over-long header (400, 431; e.g. a control character in
Idempotency-Key), a bad chunked body (400). Its stock answer is an HTML page; the gateway is
the public entry, and every error it gives is a problem document (API.md), so
gateway/gunicorn.conf.py replaces gunicorn's writer with this one. The detail is generic:
gunicorn's message echoes the offending input.
"""
from __future__ import annotations

import json

from gunicorn import util

from services.common.errors import DEFAULT_CODES
from services.common.problems import MEDIA_TYPE

CODES = {**DEFAULT_CODES, 400: "bad_request", 414: "uri_too_long", 417: "expectation_failed",
         431: "headers_too_large", 501: "not_implemented"}
DETAILS = {
    400: "The request is malformed (request line, a header or the body framing).",
    414: "The request line is too long.",
    431: "The request headers are too large.",
}


def problem_bytes(status: int, reason: str) -> bytes:
    code = CODES.get(status, "error")
    body = json.dumps({"type": f"https://errors.finovabank.example/{code}", "title": reason, "status": status,
                       "detail": DETAILS.get(status, reason), "code": code}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {MEDIA_TYPE}\r\n"
            f"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def write_problem(sock, status_int, reason, mesg) -> None:  # gunicorn.util.write_error's signature
    util.write_nonblock(sock, problem_bytes(int(status_int), str(reason)))


def install() -> None:
    util.write_error = write_problem
