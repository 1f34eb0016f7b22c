"""The merged OpenAPI document at /api/v1/openapi.json and the docs page at /docs.

Each service's flask-smorest document is fetched over HTTP (with an internal token, like any
call) and cached for OPENAPI_CACHE_SECONDS; only the paths the route table sends to that
service are kept, so internal endpoints stay out. A service that cannot answer leaves its
paths out and is named in `x-degraded`; a degraded document is cached for a short time only.
The docs page is Swagger UI from the flask-swagger-ui package: no CDN, it works offline.
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from flask_swagger_ui import get_swaggerui_blueprint

from services.common.errors import Problem

from .auth import PUBLIC_ROUTES
from .routes import RouteTable
from .upstreams import Upstream

log = logging.getLogger(__name__)
SPEC_PATH = "/api/v1/openapi.json"
DEGRADED_CACHE_SECONDS = 2.0
SCHEMA_REF = "#/components/schemas/"

blp = Blueprint("openapi", __name__)


@blp.get(SPEC_PATH)
def merged_openapi():
    """The whole public API in one document (public, like the docs page)."""
    return jsonify(current_app.extensions["openapi"].document())


def init_docs(app: Flask, gateway_spec: dict, upstreams: dict[str, Upstream], routes: RouteTable) -> None:
    app.extensions["openapi"] = MergedSpec(gateway_spec, upstreams, routes, app.config["OPENAPI_CACHE_SECONDS"])
    app.register_blueprint(blp)
    app.register_blueprint(get_swaggerui_blueprint(
        "/docs", SPEC_PATH, config={"app_name": "FinovaBank API", "validatorUrl": None}))


class MergedSpec:
    def __init__(self, gateway_spec: dict, upstreams: dict[str, Upstream], routes: RouteTable, ttl: float):
        self.gateway_spec, self.upstreams, self.routes, self.ttl = gateway_spec, upstreams, routes, ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, dict] | None = None

    def document(self) -> dict:
        with self._lock:
            if self._cached and time.monotonic() < self._cached[0]:
                return self._cached[1]
        specs, degraded = {}, []
        for name, upstream in self.upstreams.items():
            try:
                specs[name] = self._fetch(upstream)
            except Exception as exc:  # one service's docs missing must not hide the rest
                log.warning("openapi of a service unavailable", extra={"upstream": name, "error": str(exc)[:300]})
                degraded.append(name)
        document = merge_specs(self.gateway_spec, specs, self.routes)
        if degraded:
            document["x-degraded"] = degraded
        ttl = DEGRADED_CACHE_SECONDS if degraded else self.ttl
        with self._lock:
            self._cached = (time.monotonic() + ttl, document)
        return document

    @staticmethod
    def _fetch(upstream: Upstream) -> dict:
        response = upstream.get("/openapi.json", timeout=(0.5, 2.0))
        if response.status_code != 200:
            raise Problem(503, "service_unavailable", f"{upstream.name} answered {response.status_code}")
        return response.json()


def merge_specs(gateway_spec: dict, specs: dict[str, dict], routes: RouteTable) -> dict:
    """One OpenAPI document: the gateway's own paths plus each service's public ones.

    A component schema name used by two services with different definitions is renamed
    `<service>.<name>` in the later service, and that service's references follow it.
    """
    merged = copy.deepcopy(gateway_spec)
    merged["info"] = {"title": "FinovaBank API", "version": "v1",
                      "description": "The public API, as served by the gateway."}
    merged.setdefault("paths", {})
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    tags = {tag["name"]: tag for tag in merged.get("tags", [])}
    for service, spec in specs.items():
        spec = copy.deepcopy(spec)
        renames = {}
        for name, schema in spec.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                renames[name] = f"{service}.{name}"
        if renames:
            spec = _rename_refs(spec, renames)
        for name, schema in spec.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = schema
        for kind in ("responses", "parameters", "headers"):
            merged["components"].setdefault(kind, {}).update(spec.get("components", {}).get(kind, {}))
        for path, operations in spec.get("paths", {}).items():
            if routes.service_for(_example_path(path)) == service:
                merged["paths"][path] = operations
        for tag in spec.get("tags", []):
            tags.setdefault(tag["name"], tag)
    _state_gateway_rules(merged)
    _prune_unreferenced(merged)
    used_tags = {tag for operations in merged["paths"].values() for operation in operations.values()
                 if isinstance(operation, dict) for tag in operation.get("tags", [])}
    merged["tags"] = [tag for name, tag in tags.items() if name in used_tags]
    merged["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    merged["security"] = [{"bearer": []}]
    return merged


# paths.py refuses a path parameter holding a dot, slash or backslash (encoded or not), before
# any route: the document says so for every path parameter.
PATH_PARAMETER_PATTERN = "^[^./\\\\]+$"


def _state_gateway_rules(spec: dict) -> None:
    """What the gateway itself enforces, on every operation it routes: the path parameters'
    characters, and no access token on the public routes (auth.PUBLIC_ROUTES, sign-in)."""
    for path, operations in spec["paths"].items():
        shared = operations.get("parameters", [])
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            for parameter in shared + operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter.setdefault("schema", {"type": "string"}).setdefault("pattern", PATH_PARAMETER_PATTERN)
            if (method.upper(), path) in PUBLIC_ROUTES:
                operation["security"] = []


def _prune_unreferenced(spec: dict) -> None:
    """Drop component schemas no kept path reaches (those of internal endpoints)."""
    schemas = spec["components"]["schemas"]
    reachable: set[str] = set()
    frontier = _schema_refs({key: value for key, value in spec.items() if key != "components"})
    frontier |= _schema_refs({kind: spec["components"].get(kind, {}) for kind in ("responses", "parameters", "headers")})
    while frontier:
        name = frontier.pop()
        if name in reachable or name not in schemas:
            continue
        reachable.add(name)
        frontier |= _schema_refs(schemas[name])
    for name in set(schemas) - reachable:
        del schemas[name]


def _schema_refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                found.add(value[len(SCHEMA_REF):])
            else:
                found |= _schema_refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_schema_refs(item) for item in node)) if node else set()
    return set()


def _example_path(template: str) -> str:
    """/api/v1/accounts/{account_id}/transactions -> /api/v1/accounts/x/transactions, for the route table."""
    return "/".join("x" if part.startswith("{") else part for part in template.split("/"))


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: (SCHEMA_REF + renames.get(value[len(SCHEMA_REF):], value[len(SCHEMA_REF):])
                      if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF)
                      else _rename_refs(value, renames))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node
