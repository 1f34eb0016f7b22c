"""Clients of the running suite, as the tests drive it: a customer signed up at the gateway,
and polling for what the outbox delivers asynchronously."""
from __future__ import annotations

import time
import uuid

import requests

PASSWORD = "Correct-Horse-42-battery"


def sign_up(gateway: str, name: str = "client", password: str = PASSWORD, **fields) -> dict:
    """Register and log in through the gateway: the customer with `email`, `token` and `headers`."""
    email = f"{name}-{uuid.uuid4().hex[:12]}@example.com"
    created = requests.post(gateway + "/api/v1/auth/register", timeout=10,
                            json={"email": email, "password": password, "full_name": name.title(), **fields})
    assert created.status_code == 201, created.text
    login = requests.post(gateway + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=10)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    return {**created.json(), "email": email, "token": token, "headers": {"Authorization": f"Bearer {token}"}}


def eventually(check, timeout: float = 30.0, interval: float = 0.2):
    """check() until it returns something truthy or time runs out; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
