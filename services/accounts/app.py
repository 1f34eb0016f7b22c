"""The accounts service: customers, credentials and bank accounts (PostgreSQL)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

from services.common.app_factory import create_service_app
from services.common.config import Setting, as_bool, as_positive_float, as_positive_int, as_url
from services.common.events_api import events_blueprint
from services.common.health import add_readiness_check
from services.common.http_client import ServiceClient
from services.common.outbox_wiring import init_outbox, pg_event_receiver
from services.common.sql import init_sql

from .api import accounts, admin, credentials, customers, internal, reference
from .db import install_rls_scoping
from .domain.login import LockoutPolicy
from .events import EVENT_ROUTES
from .ledger import LedgerClient
from .models import outbox_events, processed_events
from .pii import FieldCipher, parse_keys


def as_sort_code(raw: str) -> str:
    if not (raw.isdigit() and len(raw) == 6):
        raise ValueError("a sort code is 6 digits")
    return raw


SETTINGS = [
    Setting("DATABASE_URL", as_url),
    Setting("TRANSACTIONS_URL", as_url, "http://127.0.0.1:8082"),
    Setting("PREFERENCES_URL", as_url, "http://127.0.0.1:8083"),
    Setting("OUTBOX_RELAY", as_bool, True),
    Setting("OUTBOX_RELAY_INTERVAL", as_positive_float, 1.0),
    # Optional at start so tooling can build the app, but /readyz fails until it is set.
    Setting("PII_ENCRYPTION_KEYS", parse_keys, [], secret=True),
    Setting("IBAN_SORT_CODE", as_sort_code, "040004"),
    Setting("REFRESH_TOKEN_TTL_SECONDS", as_positive_int, 14 * 24 * 3600),
    # However often it is refreshed, a session ends this long after its login.
    Setting("REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS", as_positive_int, 30 * 24 * 3600),
    # Per (email, client address):
    Setting("LOGIN_FREE_ATTEMPTS", as_positive_int, 3),
    Setting("LOGIN_BASE_DELAY_SECONDS", as_positive_float, 1.0),  # doubling with each failure after
    Setting("LOGIN_LOCK_AFTER", as_positive_int, 10),
    Setting("LOGIN_LOCK_SECONDS", as_positive_int, 900),
    # Per email from every address: past the ceiling, addresses the customer never signed in
    # from get one try per LOGIN_CEILING_SPACING_SECONDS.
    Setting("LOGIN_EMAIL_CEILING", as_positive_int, 100),
    Setting("LOGIN_EMAIL_WINDOW_SECONDS", as_positive_int, 900),
    Setting("LOGIN_CEILING_SPACING_SECONDS", as_positive_float, 5.0),
    Setting("LEDGER_CONNECT_TIMEOUT", as_positive_float, 0.5),
    Setting("LEDGER_READ_TIMEOUT", as_positive_float, 2.0),
]


def create_app(config: Mapping[str, Any] | None = None):
    app, api = create_service_app("accounts", SETTINGS, config, instrumentors=(PsycopgInstrumentor,))
    init_sql(app, app.config["DATABASE_URL"])
    install_rls_scoping(app.extensions["sql_sessions"])
    init_outbox(app, outbox_events, EVENT_ROUTES,
                destinations={"transactions": app.config["TRANSACTIONS_URL"],
                              "preferences": app.config["PREFERENCES_URL"]})
    _init_pii(app)
    app.extensions["lockout_policy"] = LockoutPolicy(
        free_attempts=app.config["LOGIN_FREE_ATTEMPTS"], base_delay=app.config["LOGIN_BASE_DELAY_SECONDS"],
        lock_after=app.config["LOGIN_LOCK_AFTER"],
        lock_seconds=app.config["LOGIN_LOCK_SECONDS"], email_ceiling=app.config["LOGIN_EMAIL_CEILING"],
        email_window_seconds=app.config["LOGIN_EMAIL_WINDOW_SECONDS"],
        ceiling_spacing_seconds=app.config["LOGIN_CEILING_SPACING_SECONDS"])
    app.extensions["ledger"] = LedgerClient(ServiceClient(
        app.config["TRANSACTIONS_URL"], audience="transactions", caller="accounts",
        secret=app.config["INTERNAL_TOKEN_SECRET"], connect_timeout=app.config["LEDGER_CONNECT_TIMEOUT"],
        read_timeout=app.config["LEDGER_READ_TIMEOUT"], retries=1))

    for blueprint in (reference.blp, customers.blp, credentials.blp, accounts.blp, admin.blp, internal.blp):
        api.register_blueprint(blueprint)
    api.register_blueprint(events_blueprint(pg_event_receiver(app, processed_events, handlers={})))
    return app


def _init_pii(app) -> None:
    keys = app.config["PII_ENCRYPTION_KEYS"]
    if isinstance(keys, str):  # given as an override rather than read from the environment
        keys = app.config["PII_ENCRYPTION_KEYS"] = parse_keys(keys)

    @lru_cache(maxsize=1)
    def cipher() -> FieldCipher:
        return FieldCipher(keys)  # raises when no key is configured

    def check_keys() -> None:
        if not keys:
            raise RuntimeError("PII_ENCRYPTION_KEYS is not set")

    app.extensions["pii_cipher"] = cipher
    add_readiness_check(app, "pii_keys", check_keys)
