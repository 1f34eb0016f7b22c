"""What every gateway answer carries for browsers: CORS for the configured origins only,
and the security headers a bank's review asks for."""
from __future__ import annotations

from flask import Flask, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

# What a browser client may send and read across origins (the API's own headers).
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match",
                      "X-Request-ID"]
CORS_EXPOSE_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-ID", "Idempotent-Replayed"]
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI's page has an inline start-up script and inline styles; its assets are ours.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def init_proxy_fix(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def init_cors(app: Flask) -> None:
    # Bearer tokens, not cookies: no credentials mode, so a listed origin gets no ambient authority.
    CORS(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
         allow_headers=CORS_ALLOW_HEADERS, expose_headers=CORS_EXPOSE_HEADERS,
         supports_credentials=False, max_age=600)


def _over_tls() -> bool:
    # Behind a TLS-terminating proxy the hop to us is plain HTTP; the proxy says so. Trusting
    # the header costs nothing: HSTS sent over plain HTTP is ignored by browsers.
    return request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        headers.setdefault("Content-Security-Policy", DOCS_CSP if request.path.startswith("/docs") else API_CSP)
        if _over_tls():
            headers["Strict-Transport-Security"] = HSTS
        return response
