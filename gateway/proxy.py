"""Forwarding a public request to the service that owns it."""
from __future__ import annotations

import re
from urllib.parse import quote

from flask import Response, request

from services.common.errors import Problem
from services.common.service_auth import Principal

from .upstreams import Upstream

# Only these client headers go upstream: identity comes from the internal token alone, so a
# client cannot smuggle Authorization, X-Customer-Id or similar past the gateway.
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Language", "Idempotency-Key",
                             "If-Match", "If-None-Match")
FORWARDED_RESPONSE_HEADERS = ("Content-Type", "ETag", "Location", "Retry-After", "Cache-Control",
                              "Link", "Idempotent-Replayed")


# A header value we pass on is printable ASCII: no control characters (tab included, which
# HTTP itself allows), no DEL, nothing a service would store or log verbatim.
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")


def forward(upstream: Upstream, principal: Principal) -> Response:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS
               if name in request.headers}
    bad = sorted(name for name, value in headers.items() if not _PRINTABLE.match(value))
    if bad:
        raise Problem(422, "validation_error", "The request has invalid headers.",
                      errors={name: ["Must be printable ASCII, without control characters."] for name in bad})
    path = upstream_target()
    answer = upstream.request(
        request.method, path, subject=principal.customer_id, roles=principal.roles,
        headers=headers, data=request.get_data(), allow_redirects=False,
    )
    response = Response(answer.content, status=answer.status_code)
    for name in FORWARDED_RESPONSE_HEADERS:
        if name in answer.headers:
            response.headers[name] = answer.headers[name]
    return response


# RFC 3986 pchar minus what quote() always keeps: the path goes up exactly as it was routed.
_PATH_SAFE = "/:@!$&'()*+,;=~"


def upstream_target() -> str:
    """The path the route table matched, re-encoded, plus the client's query as sent.

    Re-encoding keeps a decoded `?`, `#` or `%` in a segment from turning into a query, a
    fragment or an escape on the way up; the check below is the last word against the
    gateway ever addressing anything but a service's /api (paths.py refused traversal already).
    """
    path = quote(request.path, safe=_PATH_SAFE)
    if not path.startswith("/api/") or any(s in (".", "..") for s in path.split("/")):
        raise Problem(404, "not_found", "No such resource.")
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path
