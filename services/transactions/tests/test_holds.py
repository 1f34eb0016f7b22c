"""Holds (card authorisations): create, read, capture (partial or full, the rest released),
release, expiry on read and lazily under the lock, the expire command, refusals that write
nothing, one winner among concurrent captures, and the database keeping held = active holds."""
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from threading import Barrier

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.transactions.domain.ledger.holds import expire_due_holds
from services.transactions.tests.factories import (admin_headers, change_status, customer_headers, deposit,
                                                   open_account, transfer)
from services.transactions.tests.test_account_sync import put_account, snapshot
from services.transactions.tests.test_ledger_check import check_now
from tests.support.tokens import auth_header


def later(**delta) -> str:
    return (datetime.now(timezone.utc) + (timedelta(**delta) if delta else timedelta(days=7))).isoformat()


def create_hold(client, account_id, amount, currency="EUR", key=None, expires_at=None, **extra):
    return client.post("/api/v1/holds", headers=admin_headers(key),
                       json={"account_id": account_id, "amount": amount, "currency": currency,
                             "description": "Coffee", "merchant": "Bean Bar",
                             "expires_at": expires_at or later(), **extra})


def created_hold(client, account_id, amount, **kwargs) -> dict:
    response = create_hold(client, account_id, amount, **kwargs)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def view(client, account_id) -> dict:
    response = client.get(f"/internal/ledger-accounts?ids={account_id}",
                          headers=auth_header("transactions", caller="accounts"))
    item = response.get_json()["items"][0]
    return {k: item[k] for k in ("balance", "available_balance", "held")}


def capture(client, hold_id, amount=None, headers=None):
    return client.post(f"/api/v1/holds/{hold_id}/capture", json={} if amount is None else {"amount": amount},
                       headers=headers or admin_headers())


def release(client, hold_id):
    return client.post(f"/api/v1/holds/{hold_id}/release", headers=admin_headers())


def stored(owner_engines, sql, **params):
    with owner_engines["transactions"].connect() as connection:
        return connection.execute(text(sql), params).first()


def test_a_hold_lowers_the_available_balance_not_the_balance(client, funded):
    alice, _ = funded
    hold = created_hold(client, alice, "40.00")
    assert {k: hold[k] for k in ("account_id", "amount", "currency", "status", "captured_amount")} == {
        "account_id": alice, "amount": "40.00", "currency": "EUR", "status": "active", "captured_amount": "0.00"}
    assert view(client, alice) == {"balance": "100.00", "available_balance": "60.00", "held": "40.00"}
    # The hold counts against transfers too.
    refused = transfer(client, "alice", alice, funded[1], "60.01")
    assert refused.status_code == 422 and refused.get_json()["code"] == "insufficient_funds"


def test_holds_past_what_the_account_can_spend_are_refused_and_write_nothing(client, funded, owner_engines):
    alice, _ = funded
    created_hold(client, alice, "70.00")
    refused = create_hold(client, alice, "30.01")
    assert refused.status_code == 422 and refused.get_json()["code"] == "insufficient_funds"
    assert stored(owner_engines, "SELECT count(*), sum(amount) FROM holds") == (1, 7000)
    credit = open_account(client, "carol", overdraft_limit="10.00")   # credit counts, as for a transfer
    assert created_hold(client, credit, "10.00")["status"] == "active"
    assert create_hold(client, credit, "0.01").status_code == 422


def test_frozen_and_closed_accounts_take_no_hold(client, funded):
    alice, bob = funded
    change_status(client, alice, "frozen")
    frozen = create_hold(client, alice, "1.00")
    assert frozen.status_code == 409 and frozen.get_json()["code"] == "account_frozen"
    change_status(client, bob, "closed")
    closed = create_hold(client, bob, "1.00")
    assert closed.status_code == 409 and closed.get_json()["code"] == "account_closed"


@pytest.mark.parametrize("body,field", [
    ({"amount": "-1.00"}, "amount"), ({"amount": "1.001"}, "amount"), ({"currency": "XXX"}, "currency"),
    ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"), ({"expires_at": "2099-01-01T00:00:00"}, "expires_at"),
    ({"merchant": "Bar\u0007"}, "merchant")])
def test_bad_holds_are_422_naming_the_field(client, funded, body, field, owner_engines):
    alice, _ = funded
    payload = {"account_id": alice, "amount": "1.00", "currency": "EUR", "expires_at": later(), **body}
    response = client.post("/api/v1/holds", headers=admin_headers(), json=payload)
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()
    assert stored(owner_engines, "SELECT count(*) FROM holds")[0] == 0


def test_holds_are_the_card_integrations_to_write(client, funded):
    alice, _ = funded
    response = client.post("/api/v1/holds", headers=customer_headers("alice"),
                           json={"account_id": alice, "amount": "1.00", "currency": "EUR", "expires_at": later()})
    assert response.status_code == 403
    hold = created_hold(client, alice, "1.00")
    assert capture(client, hold["id"], headers=customer_headers("alice")).status_code == 403
    assert client.post(f"/api/v1/holds/{hold['id']}/release", headers=customer_headers("alice")).status_code == 403
    no_key = client.post("/api/v1/holds", headers=auth_header("transactions", subject="admin-1", roles=("admin",)),
                         json={"account_id": alice, "amount": "1.00", "currency": "EUR", "expires_at": later()})
    assert no_key.status_code == 400


def test_customers_read_their_own_holds_and_admins_any(client, funded):
    alice, bob = funded
    deposit(client, bob, "10.00")
    mine = created_hold(client, alice, "1.00")
    other = created_hold(client, alice, "2.00")
    release(client, other["id"])
    bobs = created_hold(client, bob, "3.00")
    listing = client.get("/api/v1/holds", headers=customer_headers("alice")).get_json()
    assert [h["id"] for h in listing["items"]] == [other["id"], mine["id"]] and listing["next_cursor"] is None
    active = client.get("/api/v1/holds?status=active", headers=customer_headers("alice")).get_json()["items"]
    assert [h["id"] for h in active] == [mine["id"]]
    assert client.get(f"/api/v1/holds?account_id={bob}", headers=customer_headers("alice")).get_json()["items"] == []
    assert client.get(f"/api/v1/holds/{bobs['id']}", headers=customer_headers("alice")).status_code == 404
    assert client.get(f"/api/v1/holds/{mine['id']}", headers=customer_headers("alice")).get_json()["amount"] == "1.00"
    assert client.get("/api/v1/holds/not-a-uuid", headers=customer_headers("alice")).status_code == 404
    everyone = client.get("/api/v1/holds?limit=2", headers=admin_headers()).get_json()
    assert [h["id"] for h in everyone["items"]] == [bobs["id"], other["id"]]
    rest = client.get(f"/api/v1/holds?limit=2&cursor={everyone['next_cursor']}", headers=admin_headers()).get_json()
    assert [h["id"] for h in rest["items"]] == [mine["id"]]
    bad = client.get("/api/v1/holds?cursor=nonsense", headers=admin_headers())
    assert bad.status_code == 422 and "cursor" in bad.get_json()["errors"]
    assert client.get("/api/v1/holds?status=pending", headers=admin_headers()).status_code == 422


def test_a_partial_capture_posts_that_much_and_releases_the_rest(client, funded):
    alice, _ = funded
    hold = created_hold(client, alice, "40.00")
    response = capture(client, hold["id"], "25.00")
    assert response.status_code == 201, response.get_data(as_text=True)
    posted = response.get_json()
    assert (posted["kind"], posted["status"], posted["amount"], posted["from_account_id"], posted["to_account_id"],
            posted["hold_id"]) == ("card_capture", "posted", "25.00", alice, "internal:settlement:EUR", hold["id"])
    assert view(client, alice) == {"balance": "75.00", "available_balance": "75.00", "held": "0.00"}
    read = client.get(f"/api/v1/holds/{hold['id']}", headers=customer_headers("alice")).get_json()
    assert (read["status"], read["captured_amount"], read["capture_transfer_id"]) == ("captured", "25.00", posted["id"])
    lines = client.get(f"/api/v1/accounts/{alice}/transactions", headers=customer_headers("alice")).get_json()
    assert (lines["items"][0]["amount"], lines["items"][0]["kind"]) == ("-25.00", "card_capture")
    again = capture(client, hold["id"])
    assert again.status_code == 409 and again.get_json()["code"] == "hold_not_active"
    assert release(client, hold["id"]).get_json()["code"] == "invalid_state"
    assert check_now(client)["ok"]


def test_a_capture_takes_all_by_default_and_never_more(client, funded):
    alice, _ = funded
    hold = created_hold(client, alice, "40.00")
    above = capture(client, hold["id"], "40.01")
    assert above.status_code == 422 and above.get_json()["code"] == "validation_error"
    assert "amount" in above.get_json()["errors"]
    assert capture(client, hold["id"], "1.001").status_code == 422
    assert capture(client, hold["id"], "0").status_code == 422
    full = capture(client, hold["id"])
    assert full.status_code == 201 and full.get_json()["amount"] == "40.00"
    assert view(client, alice) == {"balance": "60.00", "available_balance": "60.00", "held": "0.00"}


def test_a_capture_with_a_key_replays(client, funded, ledger_counts):
    alice, _ = funded
    hold = created_hold(client, alice, "10.00")
    key = uuid.uuid4().hex
    first = capture(client, hold["id"], "5.00", headers=admin_headers(key))
    counts = ledger_counts()
    again = capture(client, hold["id"], "5.00", headers=admin_headers(key))
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true" and ledger_counts() == counts


def test_creating_a_hold_replays_under_its_key(client, funded, owner_engines):
    alice, _ = funded
    key = uuid.uuid4().hex
    expires = later()
    first = create_hold(client, alice, "10.00", key=key, expires_at=expires)
    again = create_hold(client, alice, "10.00", key=key, expires_at=expires)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert stored(owner_engines, "SELECT count(*) FROM holds")[0] == 1
    refused_key = uuid.uuid4().hex
    refused = create_hold(client, alice, "95.00", key=refused_key, expires_at=expires)
    assert refused.status_code == 422
    release(client, first.get_json()["id"])   # now it would fit, but the refusal is replayed
    replay = create_hold(client, alice, "95.00", key=refused_key, expires_at=expires)
    assert (replay.status_code, replay.get_json()) == (422, refused.get_json())


def test_a_release_makes_the_funds_available_again(client, funded):
    alice, _ = funded
    hold = created_hold(client, alice, "40.00")
    released = release(client, hold["id"])
    assert released.status_code == 200 and released.get_json()["status"] == "released"
    assert view(client, alice) == {"balance": "100.00", "available_balance": "100.00", "held": "0.00"}
    second = release(client, hold["id"])
    assert second.status_code == 409 and second.get_json()["code"] == "invalid_state"
    assert capture(client, hold["id"]).get_json()["code"] == "hold_not_active"
    assert release(client, str(uuid.uuid4())).status_code == 404


def test_an_expired_hold_stops_counting_before_anything_expires_it(client, funded, owner_engines):
    alice, bob = funded
    hold = created_hold(client, alice, "40.00", expires_at=later(seconds=1))
    assert view(client, alice)["available_balance"] == "60.00"
    time.sleep(1.2)
    # Nothing has run: the row is still active and counted in held, but reads say expired.
    assert stored(owner_engines, "SELECT status FROM holds WHERE id = :id", id=hold["id"])[0] == "active"
    assert client.get(f"/api/v1/holds/{hold['id']}", headers=customer_headers("alice")).get_json()["status"] == "expired"
    assert [h["id"] for h in client.get("/api/v1/holds?status=expired", headers=customer_headers("alice"))
            .get_json()["items"]] == [hold["id"]]
    assert view(client, alice) == {"balance": "100.00", "available_balance": "100.00", "held": "0.00"}
    # A write locks the account and expires it first, so all of the money can move.
    moved = transfer(client, "alice", alice, bob, "100.00")
    assert moved.status_code == 201, moved.get_data(as_text=True)
    assert tuple(stored(owner_engines, "SELECT h.status, a.held FROM holds h JOIN ledger_accounts a "
                                       "ON a.id = h.account_id WHERE h.id = :id", id=hold["id"])) == ("expired", 0)
    assert capture(client, hold["id"]).get_json()["code"] == "hold_not_active"


def test_the_expire_command_expires_due_holds_and_closing_needs_none(client, funded, owner_engines):
    alice, _ = funded
    put_account(client, snapshot("acc-card", 1, overdraft_limit="5.00"))
    due = created_hold(client, alice, "10.00", expires_at=later(seconds=1))
    keeps = created_hold(client, alice, "5.00")
    card = created_hold(client, "acc-card", "5.00", expires_at=later(seconds=1))
    time.sleep(1.2)
    # Closing an account whose only hold has expired: the ledger expires it under the lock.
    closed = put_account(client, snapshot("acc-card", 2, status="closed"))
    assert closed.status_code == 200, closed.get_data(as_text=True)
    assert expire_due_holds(lambda: Session(owner_engines["transactions"])) == 1
    with owner_engines["transactions"].connect() as connection:
        rows = {str(r.id): r.status for r in connection.execute(text("SELECT id, status FROM holds"))}
    assert rows == {due["id"]: "expired", keeps["id"]: "active", card["id"]: "expired"}
    assert stored(owner_engines, "SELECT held FROM ledger_accounts WHERE id = :id", id=alice)[0] == 500
    assert expire_due_holds(lambda: Session(owner_engines["transactions"])) == 0


def test_concurrent_captures_of_one_hold_have_one_winner(transactions_app, funded):
    alice, _ = funded
    client = transactions_app.test_client()
    hold = created_hold(client, alice, "40.00")
    start = Barrier(4)

    def attempt(_):
        mine = transactions_app.test_client()
        start.wait()
        return capture(mine, hold["id"], "30.00").status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(attempt, range(4)))
    assert statuses == [201, 409, 409, 409]
    assert view(client, alice) == {"balance": "70.00", "available_balance": "70.00", "held": "0.00"}


def test_the_database_keeps_held_equal_to_the_active_holds(client, funded, transactions_db):
    alice, _ = funded
    hold = created_hold(client, alice, "40.00")
    with psycopg.connect(transactions_db.app_url) as conn:
        for statement, constraint in [
            (f"UPDATE ledger_accounts SET held = 0 WHERE id = '{alice}'", "held_matches_holds"),
            (f"UPDATE holds SET amount = 1 WHERE id = '{hold['id']}'", "holds_state_change"),
            (f"UPDATE holds SET captured_amount = 1 WHERE id = '{hold['id']}'", "holds_state_change"),
            (f"INSERT INTO holds (id, account_id, amount, currency, expires_at) VALUES "
             f"('{uuid.uuid4()}', '{alice}', 1, 'USD', now() + interval '1 day')", "hold_in_account_currency"),
            (f"INSERT INTO holds (id, account_id, amount, currency, expires_at) VALUES "
             f"('{uuid.uuid4()}', '{alice}', 6001, 'EUR', now() + interval '1 day')", "balance_within_overdraft"),
        ]:
            with pytest.raises(psycopg.errors.CheckViolation) as caught:
                conn.execute(statement)
            assert caught.value.diag.constraint_name == constraint, statement
            conn.rollback()
        with pytest.raises(psycopg.errors.RestrictViolation):
            conn.execute(f"DELETE FROM holds WHERE id = '{hold['id']}'")
        conn.rollback()
        conn.execute(f"UPDATE holds SET status = 'released' WHERE id = '{hold['id']}'")
        assert conn.execute(f"SELECT held FROM ledger_accounts WHERE id = '{alice}'").fetchone()[0] == 0
        conn.commit()
        with pytest.raises(psycopg.errors.CheckViolation) as caught:
            conn.execute(f"UPDATE holds SET status = 'active' WHERE id = '{hold['id']}'")
        assert caught.value.diag.constraint_name == "holds_state_change"
