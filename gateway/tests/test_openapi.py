"""The merged OpenAPI document (fetched from the real services over HTTP) and the offline docs page."""
import re

import pytest

from devstack.stack import free_port
from gateway.openapi import merge_specs
from gateway.routes import DEFAULT_ROUTES, RouteTable
from tests.support.servers import serving

from .conftest import gateway_for


@pytest.fixture
def services(accounts_app, transactions_app, preferences_app):
    with serving(accounts_app) as accounts, serving(transactions_app) as transactions, \
            serving(preferences_app) as preferences:
        yield {"accounts": accounts.url, "transactions": transactions.url, "preferences": preferences.url}


def test_the_merged_document_has_every_services_public_paths_and_no_internal_ones(services):
    gateway = gateway_for(**services).test_client()
    response = gateway.get("/api/v1/openapi.json")  # public, like the docs
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "FinovaBank API"
    paths = spec["paths"]
    for path in ("/api/v1/accounts", "/api/v1/me", "/api/v1/auth/register", "/api/v1/transfers",
                 "/api/v1/accounts/{account_id}/transactions", "/api/v1/preferences",
                 "/api/v1/notifications", "/api/v1/dashboard", "/api/v1/auth/login", "/api/v1/auth/refresh"):
        assert path in paths, path
    assert not [path for path in paths if not path.startswith("/api/v1/")]
    assert "x-degraded" not in spec
    # Every reference points at a schema the merged document has.
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', response.get_data(as_text=True)))
    assert refs and refs <= set(spec["components"]["schemas"])


def test_a_service_that_is_down_leaves_its_paths_out_and_is_named(services):
    gateway = gateway_for(**{**services, "preferences": f"http://127.0.0.1:{free_port()}"}).test_client()
    spec = gateway.get("/api/v1/openapi.json").get_json()
    assert spec["x-degraded"] == ["preferences"]
    assert "/api/v1/transfers" in spec["paths"] and "/api/v1/preferences" not in spec["paths"]


def test_clashing_schema_names_are_renamed_with_their_references():
    def spec(path, schema):
        return {"paths": {path: {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Thing"}}}}}}}},
            "components": {"schemas": {"Thing": schema, "Unused": {"type": "object"}}}}
    gateway_spec = {"openapi": "3.1.0", **spec("/api/v1/dashboard", {"type": "string"})}
    merged = merge_specs(gateway_spec, {"transactions": spec("/api/v1/transfers", {"type": "integer"})},
                         RouteTable.from_pairs(DEFAULT_ROUTES))
    assert "Unused" not in merged["components"]["schemas"]
    assert merged["components"]["schemas"]["transactions.Thing"] == {"type": "integer"}
    assert merged["components"]["schemas"]["Thing"] == {"type": "string"}
    ref = merged["paths"]["/api/v1/transfers"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ref == {"$ref": "#/components/schemas/transactions.Thing"}


def test_the_docs_page_works_offline():
    gateway = gateway_for().test_client()
    page = gateway.get("/docs/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from a CDN
    for asset in re.findall(r'(?:src|href)="(/docs/[^"]+)"', html):
        fetched = gateway.get(asset)
        assert fetched.status_code == 200 and len(fetched.data) > 100, asset
    assert gateway.get("/docs").status_code in (301, 308)
