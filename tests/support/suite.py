"""The whole suite as the e2e tests run it: four gunicorn apps on free ports, set for tests."""
from __future__ import annotations

from devstack.stack import AppProcesses, app_environment, free_port, start_apps
from tests.support.tokens import TEST_JWT_SIGNING_KEYS


def start_suite(stores, databases, mongo_db: str, log_dir, extra: dict[str, str] | None = None) -> AppProcesses:
    """The four apps on free ports over `databases` and `mongo_db`, set for tests."""
    ports = {name: free_port() for name in ("gateway", "accounts", "transactions", "preferences")}
    environments = app_environment(
        ports, databases, stores.mongo_url, mongo_db,
        # No INTERNAL_TOKEN_SECRET: each app signs with its own development key (devstack/stack.py).
        extra={"JWT_SIGNING_KEYS": TEST_JWT_SIGNING_KEYS,
               "WEB_CONCURRENCY": "1", "LOG_LEVEL": "INFO",
               # Every test calls from 127.0.0.1: the limits have their own tests (gateway/tests).
               "RATE_LIMIT_PER_IP": "100000/minute", "RATE_LIMIT_PER_CUSTOMER": "100000/minute",
               "RATE_LIMIT_LOGIN_PER_IP": "10000/minute", "RATE_LIMIT_REGISTER_PER_IP": "10000/minute",
               # The e2e modules and the security tests each log the one admin in.
               "RATE_LIMIT_LOGIN_PER_EMAIL": "10000/minute",
               "OUTBOX_RELAY_INTERVAL": "0.2", **(extra or {})})
    return start_apps(ports, environments, log_dir)
