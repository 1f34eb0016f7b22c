"""Helpers for the books tests: admin calls, journal entries, fiscal periods."""
from __future__ import annotations

import uuid

from services.transactions.tests.factories import ADMIN
from tests.support.tokens import auth_header



def customer(customer_id: str = "alice") -> dict:
    """A customer's headers, with a fresh token (internal tokens live a minute)."""
    return auth_header("transactions", subject=customer_id)


def admin(key: str | None = None) -> dict:
    """The admin's headers, with a fresh token and optionally an Idempotency-Key."""
    headers = auth_header("transactions", subject=ADMIN, roles=("admin",))
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def line(code: str, debit: str | None = None, credit: str | None = None, currency: str | None = None) -> dict:
    body = {"account_code": code, "currency": currency or code.rsplit("-", 1)[-1]}
    if debit is not None:
        body["debit"] = debit
    if credit is not None:
        body["credit"] = credit
    return body


def entry_body(*lines: dict, description: str = "Office rent", effective_date: str = "2026-11-30") -> dict:
    return {"description": description, "effective_date": effective_date, "lines": list(lines)}


def rent(amount: str = "10.00", effective_date: str = "2026-11-30") -> dict:
    """Operating expense paid from the EUR settlement account."""
    return entry_body(line("5200-EUR", debit=amount), line("1100-EUR", credit=amount),
                      effective_date=effective_date)


def create_entry(client, body: dict, key: str | None = None):
    return client.post("/api/v1/admin/journal-entries", json=body, headers=admin(key or uuid.uuid4().hex))


def created_entry(client, body: dict) -> dict:
    response = create_entry(client, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def post(client, entry_id: str, action: str = "post", key: str | None = None):
    return client.post(f"/api/v1/admin/journal-entries/{entry_id}/{action}", headers=admin(key))


def create_period(client, name: str, start: str, end: str):
    return client.post("/api/v1/admin/fiscal-periods", headers=admin(),
                       json={"name": name, "start_date": start, "end_date": end})


def closed_period(client, name: str, start: str, end: str) -> dict:
    created = create_period(client, name, start, end)
    assert created.status_code == 201, created.get_data(as_text=True)
    closed = client.post(f"/api/v1/admin/fiscal-periods/{created.get_json()['id']}/close", headers=admin())
    assert closed.status_code == 200, closed.get_data(as_text=True)
    return closed.get_json()


def trial_balance(client, at: str | None = None) -> dict:
    response = client.get("/api/v1/admin/reports/trial-balance" + (f"?at={at}" if at else ""), headers=admin())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def chart(client) -> dict[str, dict]:
    response = client.get("/api/v1/admin/ledger/chart-of-accounts", headers=admin())
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["code"]: item for item in response.get_json()["items"]}
