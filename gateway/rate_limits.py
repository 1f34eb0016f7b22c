"""Rate limits (Flask-Limiter): per client IP and per customer on every /api route, and
stricter ones on login (per IP, and per email AND IP) and on registration (per IP).

The login limit per email is keyed on the client address too: keyed on the email alone,
anyone could keep a victim's email over its limit and so lock the victim out from
everywhere. The per-email ceiling across addresses lives in the accounts service, which
knows where the customer has signed in before and never slows those addresses.

Counters live in memory, or in Redis when REDIS_URL is set (see gateway/README.md for what
that means with several workers). If Redis stops answering, the limiter falls back to
in-memory counters rather than failing requests.
"""
from __future__ import annotations

import hashlib
import time

from flask import Flask, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from services.common.problems import problem_response

from .auth import verified_customer_id


def client_ip() -> str:
    # remote_addr is the peer, or the client named by X-Forwarded-For when ProxyFix is
    # configured for trusted proxies (TRUSTED_PROXY_HOPS); a client cannot pick its own key.
    return "ip:" + (get_remote_address() or "unknown")


def customer_key() -> str:
    return "customer:" + (verified_customer_id() or "")


def _anonymous() -> bool:
    return verified_customer_id() is None


def login_email() -> str | None:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not email.strip():
        return None
    # Hashed so the limiter's store (maybe Redis) holds no email addresses.
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def login_email_and_ip() -> str | None:
    email = login_email()
    return None if email is None else f"{email}:{client_ip()}"


def _not_register() -> bool:
    return not (request.method == "POST" and request.path.rstrip("/") == "/api/v1/auth/register")


def _only_api_routes() -> bool:
    """Request filter: True exempts the request (health, readiness, metrics, docs)."""
    return not request.path.startswith("/api/") or request.method == "OPTIONS"


def init_rate_limits(app: Flask) -> Limiter:
    config = app.config
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[
            ApplicationLimit(config["RATE_LIMIT_PER_IP"], key_function=client_ip, scope="ip"),
            ApplicationLimit(config["RATE_LIMIT_PER_CUSTOMER"], key_function=customer_key,
                             scope="customer", exempt_when=_anonymous),
            # Registration is proxied (no view of its own here), so its limit is an
            # application limit that applies to that one route.
            ApplicationLimit(config["RATE_LIMIT_REGISTER_PER_IP"], key_function=client_ip,
                             scope="register-ip", exempt_when=_not_register),
        ],
        storage_uri=config["REDIS_URL"] or "memory://",
        strategy="sliding-window-counter",
        key_prefix="finova-gateway",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,  # it would put Retry-After on every answer; 429s get their own
    )
    limiter.request_filter(_only_api_routes)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(_error):
        breached = limiter.current_limit
        retry_after = 1
        if breached:
            # reset_at is whole seconds, so against the clock's floor it can read one second past
            # the window itself; never promise a wait longer than the limit's window.
            retry_after = min(max(1, breached.reset_at - int(time.time())), breached.limit.get_expiry())
        return problem_response(429, "rate_limited", "Too many requests; try again later.",
                                headers={"Retry-After": str(retry_after)})

    return limiter


def limit_login(app: Flask, limiter: Limiter) -> None:
    """Per IP and per (email, IP) limits on POST /api/v1/auth/login, on top of the application limits."""
    config = app.config
    per_ip = limiter.limit(config["RATE_LIMIT_LOGIN_PER_IP"], key_func=client_ip, scope="login-ip")
    per_email = limiter.limit(config["RATE_LIMIT_LOGIN_PER_EMAIL"], key_func=lambda: login_email_and_ip() or "",
                              scope="login-email-ip", exempt_when=lambda: login_email() is None)
    app.view_functions["auth.login"] = per_ip(per_email(app.view_functions["auth.login"]))
