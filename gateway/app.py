"""The gateway: the only public entry to the suite."""
from __future__ import annotations

from typing import Any, Mapping

from flask import request

from services.common.app_factory import create_service_app
from services.common.config import Setting, as_positive_float, as_positive_int, as_url
from services.common.health import add_readiness_check
from services.common.http_client import ServiceClient
from services.common.problems import Problem

from . import auth
from .proxy import forward
from .routes import DEFAULT_ROUTES, RouteTable, parse_routes
from .tokens import AccessTokens, parse_signing_keys

UPSTREAMS = ("accounts", "transactions", "preferences")
SETTINGS = [
    Setting("ACCOUNTS_URL", as_url, "http://127.0.0.1:8081"),
    Setting("TRANSACTIONS_URL", as_url, "http://127.0.0.1:8082"),
    Setting("PREFERENCES_URL", as_url, "http://127.0.0.1:8083"),
    Setting("UPSTREAM_CONNECT_TIMEOUT", as_positive_float, 0.5),
    Setting("UPSTREAM_READ_TIMEOUT", as_positive_float, 5.0),
    Setting("GATEWAY_ROUTES", parse_routes, DEFAULT_ROUTES),
    Setting("JWT_SIGNING_KEYS", parse_signing_keys, secret=True),
    Setting("JWT_ISSUER", str, "https://api.finovabank.example"),
    Setting("JWT_AUDIENCE", str, "finova-api"),
    Setting("ACCESS_TOKEN_TTL_SECONDS", as_positive_int, 900),
]
PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(config: Mapping[str, Any] | None = None):
    app, _api = create_service_app("gateway", SETTINGS, config, internal_guard=False)
    routes = RouteTable.from_pairs(app.config["GATEWAY_ROUTES"])
    clients = {
        name: ServiceClient(app.config[f"{name.upper()}_URL"], audience=name, caller="gateway",
                            secret=app.config["INTERNAL_TOKEN_SECRET"],
                            connect_timeout=app.config["UPSTREAM_CONNECT_TIMEOUT"],
                            read_timeout=app.config["UPSTREAM_READ_TIMEOUT"])
        for name in UPSTREAMS
    }
    app.extensions["upstreams"] = clients
    app.extensions["access_tokens"] = _access_tokens(app.config)
    app.register_blueprint(auth.blp)
    for name, client in clients.items():
        add_readiness_check(app, name, _upstream_ready(client))

    @app.route("/api/v1/<path:_rest>", methods=PROXIED_METHODS)
    def proxy(_rest: str):
        service = routes.service_for(request.path)
        if service is None:
            raise Problem(404, "not_found", "No such resource.")
        return forward(clients[service], service, auth.authenticate())

    return app


def _access_tokens(config) -> AccessTokens:
    keys = config["JWT_SIGNING_KEYS"]
    if isinstance(keys, str):  # given as an override rather than read from the environment
        keys = parse_signing_keys(keys)
    return AccessTokens(tuple(keys), config["JWT_ISSUER"], config["JWT_AUDIENCE"],
                        config["ACCESS_TOKEN_TTL_SECONDS"])


def _upstream_ready(client: ServiceClient):
    def check() -> None:
        response = client.get("/readyz", timeout=(0.5, 2.0))
        if response.status_code != 200:
            raise RuntimeError(f"{client.audience} /readyz answered {response.status_code}")
    return check
