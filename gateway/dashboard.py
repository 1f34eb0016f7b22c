"""GET /api/v1/dashboard: one answer built from the three services, under one deadline.

Accounts, preferences and the unread count are asked for at once; the recent statement
lines need the account ids, so they are asked for (one call per account, at once) as soon
as the accounts answer, within the same deadline. A part that fails or is late is null and
its service is named in "degraded"; the dashboard is a 503 only when every part failed.
"""
from __future__ import annotations

import contextvars
import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from services.common.errors import Problem
from services.common.openapi import problem_alt

from .auth import authenticate
from .upstreams import Upstream

log = logging.getLogger(__name__)
blp = Blueprint("dashboard", __name__, url_prefix="/api/v1", description="The customer's overview.")
# Statements are fetched for at most this many accounts (the first page of accounts).
MAX_ACCOUNTS = 20


class DashboardSchema(ma.Schema):
    accounts = ma.fields.List(ma.fields.Dict(), allow_none=True)
    recent_transactions = ma.fields.List(ma.fields.Dict(), allow_none=True)
    unread_notifications = ma.fields.Integer(allow_none=True)
    preferences = ma.fields.Dict(allow_none=True)
    degraded = ma.fields.List(ma.fields.String(), metadata={
        "description": "Services whose part is missing (null) because they failed or were late."})


class PartFailed(Exception):
    """An upstream answered, but not with what the dashboard needs."""


@blp.get("/dashboard")
@blp.response(200, DashboardSchema)
@problem_alt(blp, 503, "Every service failed (service_unavailable).")
def dashboard():
    """Accounts with balances, recent transactions, unread notifications and preferences."""
    principal = authenticate()
    config = current_app.config
    upstreams: dict[str, Upstream] = current_app.extensions["upstreams"]
    deadline = time.monotonic() + config["DASHBOARD_DEADLINE_SECONDS"]
    fetch = _Fetcher(current_app.extensions["dashboard_pool"], principal.customer_id, principal.roles, deadline)

    parts: dict[str, Future] = {
        "accounts": fetch(upstreams["accounts"], "/api/v1/accounts?limit=100", lambda body: body["items"]),
        "preferences": fetch(upstreams["preferences"], "/api/v1/preferences", lambda body: body),
        "unread_notifications": fetch(upstreams["preferences"], "/api/v1/notifications/unread-count",
                                      lambda body: int(body["unread"])),
    }
    accounts = fetch.result(parts["accounts"])
    lines = None
    if accounts is not None:
        lines = _recent_lines(fetch, upstreams["transactions"], accounts,
                              config["DASHBOARD_RECENT_TRANSACTIONS"])
    body = {
        "accounts": accounts,
        "recent_transactions": lines,
        "unread_notifications": fetch.result(parts["unread_notifications"]),
        "preferences": fetch.result(parts["preferences"]),
    }
    # Without the accounts there is nothing to ask the ledger for: that part is missing too.
    degraded = {"accounts": accounts is None, "transactions": lines is None,
                "preferences": body["preferences"] is None or body["unread_notifications"] is None}
    body["degraded"] = [name for name, missing in degraded.items() if missing]
    if len(body["degraded"]) == len(degraded):
        raise Problem(503, "service_unavailable", "No service could answer for the dashboard.",
                      headers={"Retry-After": "1"}, degraded=body["degraded"])
    return body


def _recent_lines(fetch: "_Fetcher", ledger: Upstream, accounts: list[dict], count: int) -> list[dict] | None:
    """The newest `count` statement lines over the customer's accounts, or None if any is missing."""
    # A just-opened account may not have reached the ledger yet (404): it has no lines.
    statements = [fetch(ledger, f"/api/v1/accounts/{account['id']}/transactions?limit={count}",
                        lambda body: body["items"], empty_on_404=True)
                  for account in accounts[:MAX_ACCOUNTS]]
    pages = [fetch.result(statement) for statement in statements]
    if any(page is None for page in pages):
        return None
    lines = [dict(line, account_id=line.get("account_id", account["id"]))
             for account, page in zip(accounts, pages) for line in page]
    lines.sort(key=lambda line: str(line.get("created_at", "")), reverse=True)
    return lines[:count]


class _Fetcher:
    """Starts GETs on the pool for one customer and collects them before the deadline."""

    def __init__(self, pool: ThreadPoolExecutor, customer_id: str | None, roles, deadline: float):
        self.pool, self.customer_id, self.roles, self.deadline = pool, customer_id, roles, deadline

    def __call__(self, upstream: Upstream, path: str, extract: Callable[[Any], Any],
                 empty_on_404: bool = False) -> Future:
        # A copy of the context carries the request id into the worker thread.
        context = contextvars.copy_context()
        return self.pool.submit(context.run, self._get, upstream, path, extract, empty_on_404)

    def _get(self, upstream: Upstream, path: str, extract: Callable[[Any], Any], empty_on_404: bool) -> Any:
        remaining = max(0.05, self.deadline - time.monotonic())
        connect, read = upstream.client.timeout
        response = upstream.get(path, subject=self.customer_id, roles=self.roles, cut_short=remaining < read,
                                timeout=(min(connect, remaining), min(read, remaining)))
        if empty_on_404 and response.status_code == 404:
            return []
        if response.status_code != 200:
            raise PartFailed(f"{upstream.name} answered {response.status_code} for {path}")
        return extract(response.json())

    def result(self, future: Future) -> Any:
        """The part's value, or None if it failed or is not done by the deadline."""
        done, _ = wait([future], timeout=max(0.0, self.deadline - time.monotonic()),
                       return_when=FIRST_COMPLETED)
        if not done:
            log.warning("dashboard part late")
            return None
        try:
            return future.result()
        except Exception as exc:  # any failure of one part degrades that part only
            log.warning("dashboard part failed", extra={"error": str(exc)[:300]})
            return None
