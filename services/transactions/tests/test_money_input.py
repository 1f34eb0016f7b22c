"""Hostile amounts and busy rows never make a 5xx (API.md "Input that is never a 5xx")."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from .factories import admin_headers, balance, transfer

HOSTILE = ["1E+999999999", "+1.00", " 1.00 ", "1.00 ", "\u0661", "\u0661.00", "1E+17", "92233720368547758.07",
           "1000000000000", "1.", ".5", "1_000", "-1.00", "0", "0.00", "1e2", "NaN", "Infinity", "0x10", "", 1.5, 100,
           None, ["1"]]



@pytest.mark.parametrize("amount", HOSTILE)
def test_a_transfer_with_a_loose_or_huge_amount_is_422(client, funded, ledger_counts, amount):
    alice, bob = funded
    before = ledger_counts()
    response = transfer(client, "alice", alice, bob, amount)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["code"] == "validation_error" and "amount" in response.get_json()["errors"]
    assert ledger_counts() == before


@pytest.mark.parametrize("amount", HOSTILE)
def test_an_admin_deposit_with_a_loose_or_huge_amount_is_422(client, funded, ledger_counts, amount):
    alice, _ = funded
    before = ledger_counts()
    response = client.post("/api/v1/admin/deposits", headers=admin_headers(),
                           json={"account_id": alice, "amount": amount, "currency": "EUR"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["code"] == "validation_error"
    assert ledger_counts() == before


def test_the_largest_amount_allowed_posts_and_one_more_digit_does_not(client, funded):
    alice, _ = funded
    ok = client.post("/api/v1/admin/deposits", headers=admin_headers(),
                     json={"account_id": alice, "amount": "999999999999.99", "currency": "EUR"})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert balance(client, alice) == "1000000000099.99"


@pytest.mark.parametrize("amount", ["1E+17", "92233720368547758.07", "+1.00", "\u0661"])
def test_a_batch_item_with_a_hostile_amount_is_its_own_422(client, funded, amount):
    alice, bob = funded
    items = [{"idempotency_key": "h-1", "from_account_id": alice, "to_account_id": bob, "amount": amount,
              "currency": "EUR"},
             {"idempotency_key": "h-2", "from_account_id": alice, "to_account_id": bob, "amount": "1.00",
              "currency": "EUR"}]
    response = client.post("/api/v1/admin/transfers/batch", headers=admin_headers(), json={"items": items})
    assert response.status_code == 200
    assert [item["status"] for item in response.get_json()["items"]] == [422, 201]


def hold_row_lock(app_url, account_id, seconds):
    """Lock one ledger account FOR UPDATE from another session for a while."""
    locked = threading.Event()

    def run():
        with psycopg.connect(app_url) as connection:
            connection.execute("SELECT 1 FROM ledger_accounts WHERE id = %s FOR UPDATE", (account_id,))
            locked.set()
            time.sleep(seconds)
            connection.rollback()

    thread = threading.Thread(target=run)
    thread.start()
    locked.wait(5)
    return thread


def test_a_lock_timeout_is_retried_and_the_transfer_goes_through(client, funded, transactions_db):
    alice, bob = funded
    holder = hold_row_lock(transactions_db.app_url, bob, 3.0)  # longer than one lock_timeout (2 s)
    response = transfer(client, "alice", alice, bob, "5.00")
    holder.join()
    assert response.status_code == 201, response.get_data(as_text=True)
    assert balance(client, alice) == "95.00"


def test_a_row_locked_past_every_retry_is_503_with_retry_after(client, funded, transactions_db, ledger_counts):
    alice, bob = funded
    before = ledger_counts()
    holder = hold_row_lock(transactions_db.app_url, bob, 9.0)
    response = transfer(client, "alice", alice, bob, "5.00", key="busy-1")
    holder.join()
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["code"] == "service_unavailable" and response.headers["Retry-After"]
    assert ledger_counts() == before  # nothing kept, the key included: the retry goes through
    assert transfer(client, "alice", alice, bob, "5.00", key="busy-1").status_code == 201


def test_a_batch_claims_its_keys_in_sorted_order(transactions_app, funded, transactions_db):
    """Another claimer holds k2 and will want k3 next (sorted order). A batch listing k3 before
    k2 must wait for k2 before it takes k3: had it taken k3 first, the two would wait on each
    other in a cycle (a deadlock)."""
    alice, bob = funded
    with psycopg.connect(transactions_db.app_url) as other:
        other.execute("SET lock_timeout = '3s'")
        other.execute("INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ('admin:admin-1', 'k2', 'x')")
        items = [{"idempotency_key": key, "from_account_id": alice, "to_account_id": bob, "amount": "1.00",
                  "currency": "EUR"} for key in ("k3", "k2")]
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(lambda: transactions_app.test_client().post(
                "/api/v1/admin/transfers/batch", headers=admin_headers(), json={"items": items, "notify": False}))
            time.sleep(0.5)  # the batch is waiting for k2 now
            began = time.monotonic()
            other.execute("INSERT INTO idempotency_keys (scope, key, request_hash) "
                          "VALUES ('admin:admin-1', 'k3', 'x')")
            waited = time.monotonic() - began
            other.rollback()
            response = answer.result()
    assert waited < 0.3, f"k3 was taken by the batch first (waited {waited:.1f}s)"
    assert [item["status"] for item in response.get_json()["items"]] == [201, 201]
