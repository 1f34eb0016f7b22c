"""The gateway: the only public entry to the suite."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

from flask import request

from services.common.app_factory import create_service_app
from services.common.errors import Problem
from services.common.health import add_readiness_check
from services.common.tracing import untrusted_trace_headers

from . import auth, dashboard, dead_letters
from .openapi import init_docs
from .paths import init_path_hygiene
from .proxy import forward
from .rate_limits import init_rate_limits, limit_login
from .routes import RouteTable
from .security import init_cors, init_proxy_fix, init_security_headers
from .settings import SETTINGS
from .tokens import AccessTokens, parse_signing_keys
from .upstreams import Upstream, build_upstreams

PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(config: Mapping[str, Any] | None = None):
    app, api = create_service_app("gateway", SETTINGS, config, internal_guard=False, title="FinovaBank gateway")
    init_path_hygiene(app)  # first of the gateway's own checks: before limits and authentication
    # Each public request starts its own trace: a client's trace headers are dropped.
    app.wsgi_app = untrusted_trace_headers(app.wsgi_app)
    routes = RouteTable.from_pairs(app.config["GATEWAY_ROUTES"])
    upstreams = build_upstreams(app.config)
    app.extensions["upstreams"] = upstreams
    app.extensions["access_tokens"] = _access_tokens(app.config)
    app.extensions["dashboard_pool"] = ThreadPoolExecutor(max_workers=32, thread_name_prefix="dashboard")
    init_proxy_fix(app)
    init_security_headers(app)
    init_cors(app)
    limiter = init_rate_limits(app)
    api.register_blueprint(auth.blp)
    api.register_blueprint(dashboard.blp)
    api.register_blueprint(dead_letters.blp)
    limit_login(app, limiter)
    for name, upstream in upstreams.items():
        add_readiness_check(app, name, _upstream_ready(upstream))

    @app.route("/api/v1/<path:_rest>", methods=PROXIED_METHODS)
    def proxy(_rest: str):
        service = routes.service_for(request.path)
        if service is None:
            raise Problem(404, "not_found", "No such resource.")
        return forward(upstreams[service], auth.authenticate())

    init_docs(app, api.spec.to_dict(), upstreams, routes)
    return app


def _access_tokens(config) -> AccessTokens:
    keys = config["JWT_SIGNING_KEYS"]
    if isinstance(keys, str):  # given as an override rather than read from the environment
        keys = parse_signing_keys(keys)
    return AccessTokens(tuple(keys), config["JWT_ISSUER"], config["JWT_AUDIENCE"],
                        config["ACCESS_TOKEN_TTL_SECONDS"])


def _upstream_ready(upstream: Upstream):
    # Straight to the client, past the breaker: readiness should see the service as it is now.
    def check() -> None:
        response = upstream.client.get("/readyz", timeout=(0.5, 2.0))
        if response.status_code != 200:
            raise RuntimeError(f"{upstream.name} /readyz answered {response.status_code}")
    return check
