"""Small builders so tests read as stories: a customer, their headers, their account."""
from __future__ import annotations

import itertools

from tests.support.tokens import auth_header

STRONG_PASSWORD = "Correct-Horse-42-battery"
_serial = itertools.count(1)


def customer_headers(customer_id: str, roles=("customer",)) -> dict[str, str]:
    return auth_header("accounts", subject=customer_id, roles=roles)


def admin_headers(admin_id: str = "00000000-0000-4000-8000-0000000000ad") -> dict[str, str]:
    return auth_header("accounts", subject=admin_id, roles=("admin",))


def register(client, email: str | None = None, password: str = STRONG_PASSWORD, **fields) -> dict:
    """Register a customer through the endpoint; returns the 201 body."""
    body = {"email": email or f"customer{next(_serial)}@example.com", "password": password,
            "full_name": "Ada Lovelace", **fields}
    response = client.post("/api/v1/auth/register", json=body, headers=auth_header("accounts"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_account(client, customer_id: str, type_: str = "checking", currency: str = "EUR", **fields) -> dict:
    response = client.post("/api/v1/accounts", json={"type": type_, "currency": currency, **fields},
                           headers=customer_headers(customer_id))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def verify_kyc(client, customer_id: str, status: str = "verified") -> dict:
    """An admin's KYC decision through the endpoint (the stand-in ledger hears of it)."""
    response = client.post(f"/api/v1/admin/customers/{customer_id}/kyc", json={"status": status, "note": "checked"},
                           headers=admin_headers())
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def verified_customer(client, **fields) -> dict:
    customer = register(client, **fields)
    verify_kyc(client, customer["id"])
    return customer
