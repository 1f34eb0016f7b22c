"""Service defaults: one call gives a service config, logs, tracing, errors, health, metrics
and auth.

`create_service_app` is to our services what eShop's ServiceDefaults is to theirs; a
service's own `create_app` adds its store and blueprints and nothing else.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask
from flask_smorest import Api

from .config import COMMON_SETTINGS, Setting, load_settings
from .db_errors import init_store_errors
from .health import health
from .input_rules import init_input_rules
from .logs import configure_logging, init_access_log
from .metrics import init_metrics
from .openapi import ProblemApi
from .problems import init_problems
from .request_id import init_request_id
from .service_auth import install_internal_guard
from .tracing import init_tracing


def create_service_app(name: str, settings: list[Setting], config: Mapping[str, Any] | None,
                       *, internal_guard: bool = True, title: str | None = None,
                       instrumentors: tuple = ()) -> tuple[Flask, Api]:
    """`instrumentors`: the OpenTelemetry instrumentation classes of the app's own store
    (services/common/tracing.py); every app gets Flask's and requests'."""
    app = Flask(name)
    values = load_settings(COMMON_SETTINGS + settings, config)
    app.config.update(values)
    app.config.update(
        SERVICE_NAME=name,
        API_TITLE=title or f"FinovaBank {name}",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    configure_logging(name, app.config["LOG_LEVEL"])
    init_tracing(app, name, instrumentors)
    init_request_id(app)
    if app.config["ACCESS_LOG"]:
        init_access_log(app)
    init_problems(app)
    init_store_errors(app)
    init_metrics(app, name)
    # Body and string rules come before authentication (API.md's order of checks).
    init_input_rules(app)
    app.register_blueprint(health)
    if internal_guard:
        install_internal_guard(app, audience=name)
    api = ProblemApi(app)
    return app, api
