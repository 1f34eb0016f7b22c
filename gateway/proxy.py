"""Forwarding a public request to the service that owns it."""
from __future__ import annotations

import logging

import requests
from flask import Response, request

from services.common.http_client import ServiceClient
from services.common.problems import Problem
from services.common.service_auth import Principal

log = logging.getLogger(__name__)

# Only these client headers go upstream: identity comes from the internal token alone, so a
# client cannot smuggle Authorization, X-Customer-Id or similar past the gateway.
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Language", "Idempotency-Key",
                             "If-Match", "If-None-Match")
FORWARDED_RESPONSE_HEADERS = ("Content-Type", "ETag", "Location", "Retry-After", "Cache-Control",
                              "Link", "Idempotent-Replayed")


def forward(client: ServiceClient, service: str, principal: Principal) -> Response:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS
               if name in request.headers}
    path = request.full_path if request.query_string else request.path
    try:
        upstream = client.request(
            request.method, path, subject=principal.customer_id, roles=principal.roles,
            headers=headers, data=request.get_data(), allow_redirects=False,
        )
    except requests.RequestException as exc:
        log.warning("upstream unavailable", extra={"upstream": service, "error": str(exc)})
        raise Problem(503, "service_unavailable", f"The {service} service is unavailable.",
                      headers={"Retry-After": "1"}, service=service) from None
    response = Response(upstream.content, status=upstream.status_code)
    for name in FORWARDED_RESPONSE_HEADERS:
        if name in upstream.headers:
            response.headers[name] = upstream.headers[name]
    return response
