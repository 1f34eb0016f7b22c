"""Who may touch what, through the gateway: another customer's resource is 404 on every
id-bearing route (not 403, so ids do not leak), and every admin route is 403 `forbidden` to a
customer, even on the customer's own account. Each attempt changes nothing."""
from __future__ import annotations

import pytest

from .conftest import assert_problem, key

pytestmark = [pytest.mark.e2e, pytest.mark.security]
NO_ID = "00000000-0000-0000-0000-000000000000"  # for admin routes whose object need not exist


def _others(owner, intruder):
    """(method, path, request kwargs): Bob (the intruder) aiming at Ada's (the owner's) things."""
    return {
        "read account": ("GET", f"/api/v1/accounts/{owner.account}", {}),
        "rename account": ("PATCH", f"/api/v1/accounts/{owner.account}",
                           {"json": {"nickname": "mine now"}, "headers": {"If-Match": "*"}}),
        "close account": ("POST", f"/api/v1/accounts/{owner.account}/close", {}),
        "statement": ("GET", f"/api/v1/accounts/{owner.account}/transactions", {}),
        "statement page": ("GET", f"/api/v1/accounts/{owner.account}/transactions?limit=1&category=transfer", {}),
        "read transfer": ("GET", f"/api/v1/transfers/{owner.transfer}", {}),
        "reverse transfer": ("POST", f"/api/v1/transfers/{owner.transfer}/reverse", {"json": {}, "headers": key()}),
        "transfer out of it": ("POST", "/api/v1/transfers", {"headers": key(), "json": {
            "from_account_id": owner.account, "to_account_id": intruder.account, "amount": "5.00",
            "currency": "EUR"}}),
        "transfer between two of hers": ("POST", "/api/v1/transfers", {"headers": key(), "json": {
            "from_account_id": owner.account, "to_account_id": owner.second_account, "amount": "5.00",
            "currency": "EUR"}}),
        "mark notification read": ("POST", f"/api/v1/notifications/{owner.notification}/read", {}),
    }


ROUTES = ["read account", "rename account", "close account", "statement", "statement page", "read transfer",
          "reverse transfer", "transfer out of it", "transfer between two of hers", "mark notification read"]


def _state(owner):
    accounts = {a["id"]: (a["balance"], a["status"], a.get("nickname"))
                for a in owner.call("GET", "/api/v1/accounts").json()["items"]}
    unread = {n["id"] for n in owner.call("GET", "/api/v1/notifications?unread=true").json()["items"]}
    return accounts, owner.notification in unread


@pytest.mark.parametrize("route", ROUTES)
def test_another_customers_resource_is_404(owner, intruder, route):
    assert owner.notification, "the owner never got a notification to aim at"
    method, path, kwargs = _others(owner, intruder)[route]
    before = _state(owner)
    assert_problem(intruder.call(method, path, **kwargs), 404, "not_found")
    assert _state(owner) == before


@pytest.mark.parametrize("route", ["read account", "statement", "read transfer"])
def test_the_owner_reaches_the_same_routes(owner, intruder, route):
    """The control: the 404s above are about who asks, not about the ids."""
    method, path, kwargs = _others(owner, intruder)[route]
    response = owner.call(method, path, **kwargs)
    assert response.status_code == 200, response.text


def _admin_routes(customer):
    account = customer.account
    return {
        "freeze": ("POST", f"/api/v1/admin/accounts/{account}/freeze", {}),
        "unfreeze": ("POST", f"/api/v1/admin/accounts/{account}/unfreeze", {}),
        "grant credit": ("PATCH", f"/api/v1/admin/accounts/{account}", {"json": {"overdraft_limit": "1000.00"}}),
        "list customers": ("GET", "/api/v1/admin/customers", {}),
        "verify own kyc": ("POST", f"/api/v1/admin/customers/{customer.id}/kyc",
                           {"json": {"status": "verified", "note": "trust me"}}),
        "audit logs": ("GET", "/api/v1/admin/audit-logs", {}),
        "deposit": ("POST", "/api/v1/admin/deposits", {"headers": key(), "json": {
            "account_id": account, "amount": "1000.00", "currency": "EUR"}}),
        "batch": ("POST", "/api/v1/admin/transfers/batch", {"headers": key(), "json": {"items": [{
            "from_account_id": "internal:settlement:EUR", "to_account_id": account, "amount": "1000.00",
            "currency": "EUR"}]}}),
        "ledger check": ("GET", "/api/v1/admin/ledger-check", {}),
        "dead letters": ("GET", "/api/v1/admin/outbox/dead-letters", {}),
        "replay dead letter": ("POST", f"/api/v1/admin/outbox/dead-letters/{NO_ID}/replay", {}),
        "set an fx rate": ("PUT", "/api/v1/admin/fx-rates", {"json": {
            "base": "EUR", "quote": "USD", "rate": "0.0001", "effective_from": "2026-01-01T00:00:00Z"}}),
        "set a fee": ("PUT", "/api/v1/admin/fees", {"json": {
            "kind": "fx", "percent": "0", "minimum": "0.00", "currency": "EUR"}}),
        "chart of accounts": ("GET", "/api/v1/admin/ledger/chart-of-accounts", {}),
        "trial balance": ("GET", "/api/v1/admin/reports/trial-balance", {}),
        "journal entry": ("POST", "/api/v1/admin/journal-entries", {"headers": key(), "json": {
            "description": "x", "effective_date": "2026-12-01", "lines": [
                {"account_code": "1100-EUR", "debit": "1000.00", "currency": "EUR"},
                {"account_code": "2100-EUR", "credit": "1000.00", "currency": "EUR"}]}}),
        "post a journal entry": ("POST", f"/api/v1/admin/journal-entries/{NO_ID}/post", {}),
        "void a journal entry": ("POST", f"/api/v1/admin/journal-entries/{NO_ID}/void", {}),
        "fiscal period": ("POST", "/api/v1/admin/fiscal-periods", {"json": {
            "name": "x", "start_date": "2026-01-01", "end_date": "2026-01-31"}}),
        "close a fiscal period": ("POST", f"/api/v1/admin/fiscal-periods/{NO_ID}/close", {}),
    }


ADMIN_ROUTES = ["freeze", "unfreeze", "grant credit", "list customers", "verify own kyc", "audit logs", "deposit",
                "batch", "ledger check", "dead letters", "replay dead letter", "set an fx rate", "set a fee",
                "chart of accounts", "trial balance", "journal entry", "post a journal entry", "void a journal entry",
                "fiscal period", "close a fiscal period"]


def _own_state(customer):
    account = customer.call("GET", f"/api/v1/accounts/{customer.account}").json()
    me = customer.call("GET", "/api/v1/me").json()
    return account["balance"], account["status"], account.get("overdraft_limit"), me.get("kyc_status"), me.get("roles")


@pytest.mark.parametrize("route", ADMIN_ROUTES)
def test_an_admin_route_is_403_to_a_customer(intruder, route):
    method, path, kwargs = _admin_routes(intruder)[route]
    before = _own_state(intruder)
    assert_problem(intruder.call(method, path, **kwargs), 403, "forbidden")
    assert _own_state(intruder) == before


@pytest.mark.parametrize("route", ["list customers", "audit logs", "ledger check", "dead letters", "chart of accounts",
                                   "trial balance"])
def test_the_admin_reaches_the_same_routes(admin, intruder, route):
    """The control: the routes exist and answer the admin."""
    method, path, kwargs = _admin_routes(intruder)[route]
    response = admin.call(method, path, **kwargs)
    assert response.status_code == 200, response.text
