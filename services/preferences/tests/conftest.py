"""Fixtures for the preferences service's tests: a customer acting on the real server."""
from __future__ import annotations

import uuid

import pytest

from tests.support.tokens import auth_header


class CustomerClient:
    """Requests as one customer, the way the gateway forwards them."""

    def __init__(self, client, customer_id: str):
        self.client = client
        self.customer_id = customer_id

    def headers(self, **extra: str) -> dict[str, str]:
        return {**auth_header("preferences", subject=self.customer_id), **extra}

    def get(self, path: str, **extra):
        return self.client.get(path, headers=self.headers(**extra))

    def put(self, path: str, json=None, **extra):
        return self.client.put(path, json=json, headers=self.headers(**extra))

    def patch(self, path: str, json=None, **extra):
        return self.client.patch(path, json=json, headers=self.headers(**extra))

    def post(self, path: str, json=None, **extra):
        return self.client.post(path, json=json, headers=self.headers(**extra))

    def raw(self, method: str, path: str, data: bytes | str, **extra):
        headers = self.headers(**{"Content-Type": "application/json", **extra})
        return self.client.open(path, method=method, data=data, headers=headers)


@pytest.fixture
def client(preferences_app):
    return preferences_app.test_client()


@pytest.fixture
def alice(client):
    return CustomerClient(client, f"cust-{uuid.uuid4()}")


@pytest.fixture
def bob(client):
    return CustomerClient(client, f"cust-{uuid.uuid4()}")


@pytest.fixture
def deliver(client):
    """Deliver an event envelope to /internal/events as the ledger would."""
    def _deliver(envelope: dict):
        response = client.post("/internal/events", json=envelope,
                               headers=auth_header("preferences", caller="transactions"))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["status"]
    return _deliver
