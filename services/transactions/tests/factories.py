"""Test data for the ledger: accounts opened the way the accounts service opens them."""
from __future__ import annotations

import uuid

from tests.support.tokens import auth_header

ADMIN = "admin-1"


def open_account(client, customer_id: str, currency: str = "EUR", overdraft_limit: str = "0.00",
                 account_id: str | None = None, kyc: str | None = "verified", number: str | None = None,
                 account_type: str = "checking") -> str:
    """Deliver an account.opened event, as the accounts service's outbox would; the owner's
    KYC status is put first (verified by default: most tests move money between customers)."""
    account_id = account_id or f"acc-{uuid.uuid4().hex[:12]}"
    if kyc is not None:
        set_kyc(client, customer_id, kyc)
    event = {"id": str(uuid.uuid4()), "type": "account.opened", "source": "accounts",
             "occurred_at": "2026-11-25T00:00:00Z",
             "data": {"account_id": account_id, "customer_id": customer_id, "currency": currency,
                      "type": account_type, "overdraft_limit": overdraft_limit, "status": "active",
                      "version": 1, **({"number": number} if number else {})}}
    response = client.post("/internal/events", json=event, headers=auth_header("transactions", caller="accounts"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return account_id


def set_kyc(client, customer_id: str, kyc_status: str, version: int = 1) -> dict:
    """The accounts service's synchronous KYC call."""
    response = client.put(f"/internal/ledger-customers/{customer_id}", json={"kyc_status": kyc_status,
                                                                             "version": version},
                          headers=auth_header("transactions", caller="accounts"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def change_status(client, account_id: str, status: str) -> None:
    event = {"id": str(uuid.uuid4()), "type": "account.status_changed", "source": "accounts",
             "occurred_at": "2026-11-25T00:00:00Z", "data": {"account_id": account_id, "status": status}}
    response = client.post("/internal/events", json=event, headers=auth_header("transactions", caller="accounts"))
    assert response.status_code == 200


def admin_headers(key: str | None = None) -> dict:
    headers = auth_header("transactions", subject=ADMIN, roles=("admin",))
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return headers


def customer_headers(customer_id: str, key: str | None = None) -> dict:
    headers = auth_header("transactions", subject=customer_id)
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return headers


def deposit(client, account_id: str, amount: str, currency: str = "EUR") -> dict:
    response = client.post("/api/v1/admin/deposits", headers=admin_headers(),
                           json={"account_id": account_id, "amount": amount, "currency": currency})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def transfer(client, customer_id: str, source: str, target: str, amount: str, currency: str = "EUR",
             key: str | None = None, **extra):
    return client.post("/api/v1/transfers", headers=customer_headers(customer_id, key),
                       json={"from_account_id": source, "to_account_id": target, "amount": amount,
                             "currency": currency, **extra})


def balance(client, account_id: str) -> str:
    response = client.get(f"/internal/ledger-accounts?ids={account_id}",
                          headers=auth_header("transactions", caller="accounts"))
    return response.get_json()["items"][0]["balance"]


def at_once(app, call, times: int = 4) -> list:
    """Run `call(client)` from `times` threads at once, each with a test client of its own;
    their answers, in the order they came (an error in a thread fails the test)."""
    import threading
    answers, errors = [], []
    barrier = threading.Barrier(times)

    def run():
        try:
            with app.test_client() as own:
                barrier.wait()
                answers.append(call(own))
        except Exception as error:  # noqa: BLE001 - raised below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return answers
