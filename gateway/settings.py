"""The gateway's settings, read from the environment (see services/common/config.py)."""
from __future__ import annotations

from limits import parse_many

from services.common.config import Setting, as_positive_float, as_positive_int, as_url

from .routes import DEFAULT_ROUTES, parse_routes
from .tokens import parse_signing_keys

UPSTREAMS = ("accounts", "transactions", "preferences")


def as_rate_limit(raw: str) -> str:
    """A Flask-Limiter limit string such as "10/minute" or "5/second;100/hour"."""
    parse_many(raw)  # raises ValueError on anything it cannot read
    return raw


def as_origins(raw: str) -> list[str]:
    origins = [item.strip().rstrip("/") for item in raw.split(",") if item.strip()]
    for origin in origins:
        if origin == "*" or "://" not in origin:
            raise ValueError(f"expected comma-separated origins like https://app.example, got {origin!r}")
    return origins


def as_redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "redis+sentinel://", "redis+cluster://", "redis+unix://")):
        raise ValueError("expected a redis:// (or rediss://, redis+sentinel://, redis+cluster://) URL")
    return raw


def as_hops(raw: str) -> int:
    hops = int(raw)
    if hops < 0:
        raise ValueError(f"must be 0 or more, got {raw}")
    return hops


SETTINGS = [
    Setting("ACCOUNTS_URL", as_url, "http://127.0.0.1:8081"),
    Setting("TRANSACTIONS_URL", as_url, "http://127.0.0.1:8082"),
    Setting("PREFERENCES_URL", as_url, "http://127.0.0.1:8083"),
    Setting("UPSTREAM_CONNECT_TIMEOUT", as_positive_float, 0.5),
    Setting("UPSTREAM_READ_TIMEOUT", as_positive_float, 5.0),
    # Per upstream, e.g. TRANSACTIONS_READ_TIMEOUT=10; unset means the UPSTREAM_* value.
    *[Setting(f"{name.upper()}_{kind}_TIMEOUT", as_positive_float, None)
      for name in UPSTREAMS for kind in ("CONNECT", "READ")],
    Setting("BREAKER_FAILURE_THRESHOLD", as_positive_int, 5),
    Setting("BREAKER_RESET_SECONDS", as_positive_float, 10.0),
    Setting("GATEWAY_ROUTES", parse_routes, DEFAULT_ROUTES),
    Setting("JWT_SIGNING_KEYS", parse_signing_keys, secret=True),
    Setting("JWT_ISSUER", str, "https://api.finovabank.example"),
    Setting("JWT_AUDIENCE", str, "finova-api"),
    Setting("ACCESS_TOKEN_TTL_SECONDS", as_positive_int, 900),
    Setting("RATE_LIMIT_PER_IP", as_rate_limit, "1200/minute"),
    Setting("RATE_LIMIT_PER_CUSTOMER", as_rate_limit, "600/minute"),
    Setting("RATE_LIMIT_LOGIN_PER_IP", as_rate_limit, "30/minute"),
    # Per email AND client address (a limit per email alone would let anyone lock a victim out).
    Setting("RATE_LIMIT_LOGIN_PER_EMAIL", as_rate_limit, "5/minute"),
    Setting("RATE_LIMIT_REGISTER_PER_IP", as_rate_limit, "5/minute;30/hour"),
    Setting("REDIS_URL", as_redis_url, None, secret=True),
    Setting("CORS_ORIGINS", as_origins, []),
    # How many proxies in front of the gateway set X-Forwarded-For/-Proto (0: none, trust nothing).
    Setting("TRUSTED_PROXY_HOPS", as_hops, 0),
    Setting("DASHBOARD_DEADLINE_SECONDS", as_positive_float, 2.0),
    Setting("DASHBOARD_RECENT_TRANSACTIONS", as_positive_int, 10),
    Setting("OPENAPI_CACHE_SECONDS", as_positive_float, 30.0),
]
