"""Path hygiene at the gateway (API.md, "Input that is never a 5xx"), before routing and
before authentication.

The request target is judged as the client sent it (gunicorn's RAW_URI, REQUEST_URI
elsewhere; the werkzeug test client sets both), not as the WSGI server decoded it: a
decoded PATH_INFO has already turned `%2e%2e` into `..`, and the HTTP client that forwards
upstream would then resolve the dot segments, which is how `/api/v1/me/../../../internal/
auth/login` once reached the accounts service.

Refused with 400 `invalid_path`: dot segments (`.`, `..`), encoded dot, slash, backslash or
NUL (`%2e %2f %5c %00`, any case, also double encoded as `%252e` ...), a backslash, an
empty segment (`//`), a target that is not an absolute path. Anything under `/internal`
(any case, any encoding) is 404 `not_found`. Neither is ever forwarded.

A refused request still goes through the Flask app (so it gets the request id, security
headers and a problem+json body), but neutered: GET, no query, no body, so no body or query
rule and no handler sees it; the first before_request of ours answers the refusal.
"""
from __future__ import annotations

import io
import re
from urllib.parse import unquote, urlsplit

from flask import Flask, request

from services.common.errors import Problem

ENVIRON_KEY = "finova.path_refusal"
# %2e . | %2f / | %5c \ | %00 NUL, and the same with the % itself encoded once or more (%252e).
_ENCODED_FORBIDDEN = re.compile(r"%(?:25)*(?:2e|2f|5c|00)", re.IGNORECASE)
_INTERNAL = re.compile(r"^/internal(?:/|$)", re.IGNORECASE)


def raw_path(environ) -> str:
    """The path of the request target as sent, without the query."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        # No raw target from the server: judge the decoded path (dot segments, NUL,
        # backslashes and // stay visible after decoding; encoded slashes are lost, which
        # only ever makes the path stricter, never lets a traversal through).
        return environ.get("PATH_INFO", "") or "/"
    if "://" in target.split("?", 1)[0]:  # absolute-form (a proxy request): keep the path
        target = urlsplit(target).path or "/"
    return target.split("?", 1)[0].split("#", 1)[0]


def refusal(path: str) -> Problem | None:
    """Why this raw path is refused, or None when it may be routed."""
    if not path.startswith("/"):
        return _invalid("The request target must be an absolute path.")
    if "\\" in path or "\x00" in path:
        return _invalid("The path holds a backslash or NUL.")
    if _ENCODED_FORBIDDEN.search(path):
        return _invalid("The path holds an encoded dot, slash, backslash or NUL.")
    if "//" in path:
        return _invalid("The path holds an empty segment (//).")
    decoded = unquote(path)
    if "\\" in decoded or "\x00" in decoded:
        return _invalid("The path holds a backslash or NUL.")
    if any(segment in (".", "..") for segment in decoded.split("/")):
        return _invalid("The path holds a dot segment (. or ..).")
    if _INTERNAL.match(decoded):
        return Problem(404, "not_found", "No such resource.")
    return None


def _invalid(detail: str) -> Problem:
    return Problem(400, "invalid_path", detail)


class PathHygiene:
    """WSGI middleware: judge the raw target; neuter a refused request and flag it."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        problem = refusal(raw_path(environ))
        if problem is None:
            # PATH_INFO is what Flask routes on: judge it too, in case a server decoded
            # something the raw target did not show (it never should).
            problem = refusal(environ.get("PATH_INFO", "") or "/")
        if problem is not None:
            environ = neutered(environ, problem)
        return self.wsgi_app(environ, start_response)


def neutered(environ, problem: Problem) -> dict:
    """The request as no rule or handler can act on (GET, no query, no body), flagged with
    the problem the before_request below answers."""
    environ = {**environ, ENVIRON_KEY: problem, "REQUEST_METHOD": "GET", "QUERY_STRING": "",
               "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO(b"")}
    environ.pop("CONTENT_TYPE", None)
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)
    return environ


def init_path_hygiene(app: Flask) -> None:
    """Install the middlewares (paths, then chunked bodies) and the before_request that
    answers a refusal.

    Call right after create_service_app: the body and query rules it installs see only a
    neutered request, and this runs before the rate limits and authentication.
    """
    from .bodies import ChunkedBodyLimit
    # The path is judged first (outermost); a refused path's body is never read.
    app.wsgi_app = PathHygiene(ChunkedBodyLimit(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"]))

    @app.before_request
    def _refuse_bad_paths() -> None:
        problem = request.environ.get(ENVIRON_KEY)
        if problem is not None:
            raise problem
