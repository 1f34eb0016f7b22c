"""Forwarding a public request to the service that owns it."""
from __future__ import annotations

from flask import Response, request

from services.common.service_auth import Principal

from .upstreams import Upstream

# Only these client headers go upstream: identity comes from the internal token alone, so a
# client cannot smuggle Authorization, X-Customer-Id or similar past the gateway.
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Language", "Idempotency-Key",
                             "If-Match", "If-None-Match")
FORWARDED_RESPONSE_HEADERS = ("Content-Type", "ETag", "Location", "Retry-After", "Cache-Control",
                              "Link", "Idempotent-Replayed")


def forward(upstream: Upstream, principal: Principal) -> Response:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS
               if name in request.headers}
    path = request.full_path if request.query_string else request.path
    answer = upstream.request(
        request.method, path, subject=principal.customer_id, roles=principal.roles,
        headers=headers, data=request.get_data(), allow_redirects=False,
    )
    response = Response(answer.content, status=answer.status_code)
    for name in FORWARDED_RESPONSE_HEADERS:
        if name in answer.headers:
            response.headers[name] = answer.headers[name]
    return response
