"""Account and customer state from the accounts service, applied in version order:
the synchronous PUTs (interface 2) and the events delivered out of order on purpose."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tests.support.tokens import FreshAuthHeader, auth_header

from .factories import admin_headers, balance, deposit, open_account, set_kyc, transfer

AS_ACCOUNTS = FreshAuthHeader("transactions", caller="accounts")


def snapshot(account_id, version, status="active", customer_id="cust-sync", overdraft_limit="0.00",
             currency="EUR"):
    return {"account_id": account_id, "customer_id": customer_id, "number": "GB00FNVA0000000000000",
            "type": "checking", "currency": currency, "status": status, "overdraft_limit": overdraft_limit,
            "version": version}


def put_account(client, data, headers=AS_ACCOUNTS):
    return client.put(f"/internal/ledger-accounts/{data['account_id']}", json=data, headers=headers)


def event(client, event_type, data, event_id=None):
    envelope = {"id": event_id or str(uuid.uuid4()), "type": event_type, "source": "accounts",
                "occurred_at": "2026-12-01T00:00:00Z", "data": data}
    return client.post("/internal/events", json=envelope, headers=AS_ACCOUNTS)


def ledger_row(owner_engines, account_id):
    with owner_engines["transactions"].connect() as connection:
        return connection.execute(text("SELECT status, overdraft_limit, version, balance FROM ledger_accounts "
                                       "WHERE id = :id"), {"id": account_id}).first()


def processed(owner_engines, event_id):
    with owner_engines["transactions"].connect() as connection:
        return connection.execute(text("SELECT count(*) FROM processed_events WHERE event_id = :id"),
                                  {"id": event_id}).scalar_one()


# --- PUT /internal/ledger-accounts/{id} ------------------------------------------------------

@pytest.mark.parametrize("caller", ["gateway", "preferences"])
def test_only_the_accounts_service_may_put_accounts_and_customers(client, owner_engines, caller):
    headers = auth_header("transactions", caller=caller, subject="ops", roles=("admin",))
    assert put_account(client, snapshot("acc-put-x", 1), headers).status_code == 403
    response = client.put("/internal/ledger-customers/c-1", json={"kyc_status": "verified", "version": 1},
                          headers=headers)
    assert response.status_code == 403
    assert ledger_row(owner_engines, "acc-put-x") is None


def test_a_snapshot_creates_then_applies_by_version(client, owner_engines):
    created = put_account(client, snapshot("acc-put-1", 3, overdraft_limit="100.00"))
    assert created.status_code == 200, created.get_data(as_text=True)
    assert {k: created.get_json()[k] for k in ("account_id", "status", "overdraft_limit", "version", "balance")} \
        == {"account_id": "acc-put-1", "status": "active", "overdraft_limit": "100.00", "version": 3,
            "balance": "0.00"}
    older = put_account(client, snapshot("acc-put-1", 2, status="frozen"))
    assert older.status_code == 200 and older.get_json()["status"] == "active"  # ignored: the current view
    assert tuple(ledger_row(owner_engines, "acc-put-1")) == ("active", 10000, 3, 0)
    again = put_account(client, snapshot("acc-put-1", 3, status="frozen"))  # equal re-applies
    assert again.status_code == 200 and again.get_json()["status"] == "frozen"
    newer = put_account(client, snapshot("acc-put-1", 4, overdraft_limit="50.00"))
    assert newer.get_json()["overdraft_limit"] == "50.00"
    assert tuple(ledger_row(owner_engines, "acc-put-1")) == ("active", 5000, 4, 0)


@pytest.mark.parametrize("field,value", [("version", "3"), ("version", -1), ("status", "asleep"),
                                         ("overdraft_limit", "1E+3"), ("overdraft_limit", "-5"),
                                         ("currency", "EURO"), ("account_id", "another")])
def test_a_malformed_snapshot_is_422_and_changes_nothing(client, owner_engines, field, value):
    response = put_account(client, {**snapshot("acc-put-bad", 1), field: value}) if field != "account_id" else \
        client.put("/internal/ledger-accounts/acc-put-bad", json={**snapshot("acc-put-bad", 1), field: value},
                   headers=AS_ACCOUNTS)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert ledger_row(owner_engines, "acc-put-bad") is None


def test_closing_refuses_money_or_holds_and_is_final(client, owner_engines):
    put_account(client, snapshot("acc-close", 1))
    deposit(client, "acc-close", "5.00")
    response = put_account(client, snapshot("acc-close", 2, status="closed"))
    assert response.status_code == 409 and response.get_json()["code"] == "account_not_empty"
    assert tuple(ledger_row(owner_engines, "acc-close"))[:3] == ("active", 0, 1)
    put_account(client, snapshot("acc-empty", 1))
    put_account(client, snapshot("acc-empty", 2, overdraft_limit="1.00"))
    hold = client.post("/api/v1/holds", headers=admin_headers(),  # a hold, no money
                       json={"account_id": "acc-empty", "amount": "1.00", "currency": "EUR",
                             "expires_at": (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()})
    assert hold.status_code == 201, hold.get_data(as_text=True)
    response = put_account(client, snapshot("acc-empty", 2, status="closed", overdraft_limit="1.00"))
    assert response.status_code == 409 and response.get_json()["code"] == "account_not_empty"
    released = client.post(f"/api/v1/holds/{hold.get_json()['id']}/release", headers=admin_headers())
    assert released.status_code == 200
    closed = put_account(client, snapshot("acc-empty", 2, status="closed"))
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    reopened = put_account(client, snapshot("acc-empty", 3, status="active"))
    assert reopened.status_code == 409 and reopened.get_json()["code"] == "account_closed"
    refused = client.post("/api/v1/admin/deposits", headers=admin_headers(),
                          json={"account_id": "acc-empty", "amount": "1.00", "currency": "EUR"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "account_closed"
    assert ledger_row(owner_engines, "acc-empty").status == "closed"


def test_a_lower_limit_than_the_credit_in_use_is_409(client, owner_engines):
    set_kyc(client, "cust-sync", "verified")
    put_account(client, snapshot("acc-credit", 1, overdraft_limit="100.00"))
    other = open_account(client, "someone")
    assert transfer(client, "cust-sync", "acc-credit", other, "80.00").status_code == 201
    response = put_account(client, snapshot("acc-credit", 2, overdraft_limit="50.00"))
    assert response.status_code == 409 and response.get_json()["code"] == "overdraft_in_use"
    assert ledger_row(owner_engines, "acc-credit").overdraft_limit == 10000


def test_close_and_a_deposit_racing_never_leave_money_in_a_closed_account(transactions_app, owner_engines):
    client = transactions_app.test_client()
    for n in range(8):
        account = f"acc-race-{n}"
        put_account(client, snapshot(account, 1))

        def close(_):
            with transactions_app.test_client() as own:
                return put_account(own, snapshot(account, 2, status="closed")).status_code

        def pay(_):
            with transactions_app.test_client() as own:
                return own.post("/api/v1/admin/deposits", headers=admin_headers(),
                                json={"account_id": account, "amount": "1.00", "currency": "EUR"}).status_code

        with ThreadPoolExecutor(2) as pool:
            closing, paying = pool.submit(close, 0), pool.submit(pay, 0)
            outcome = (closing.result(), paying.result())
        row = ledger_row(owner_engines, account)
        assert outcome in ((200, 409), (409, 201)), outcome
        assert (row.status, row.balance) in (("closed", 0), ("active", 100))


# --- account events, out of order ------------------------------------------------------------

def test_a_freeze_that_overtakes_the_opening_is_kept(client, owner_engines):
    assert event(client, "account.status_changed", snapshot("acc-ev-1", 2, status="frozen")).status_code == 200
    assert event(client, "account.opened", snapshot("acc-ev-1", 1)).status_code == 200  # older: ignored
    assert tuple(ledger_row(owner_engines, "acc-ev-1"))[:3] == ("frozen", 0, 2)


def test_active_after_closed_does_not_reopen(client, owner_engines):
    event(client, "account.opened", snapshot("acc-ev-2", 1))
    assert event(client, "account.closed", snapshot("acc-ev-2", 3, status="closed")).status_code == 200
    late = event(client, "account.status_changed", snapshot("acc-ev-2", 2, status="active"))
    assert late.status_code == 200
    newer_but_not_closed = event(client, "account.status_changed", snapshot("acc-ev-2", 4, status="active"))
    assert newer_but_not_closed.status_code == 200  # acknowledged: closed is terminal
    assert ledger_row(owner_engines, "acc-ev-2").status == "closed"


def test_an_event_for_an_unknown_account_is_parked_until_it_arrives(client, owner_engines):
    event_id = str(uuid.uuid4())
    parked = event(client, "account.status_changed", {"account_id": "acc-ev-3", "status": "frozen"}, event_id)
    assert parked.status_code == 409 and parked.get_json()["code"] == "retry_later"
    assert processed(owner_engines, event_id) == 0 and ledger_row(owner_engines, "acc-ev-3") is None
    assert event(client, "account.opened", snapshot("acc-ev-3", 1)).status_code == 200
    redelivered = event(client, "account.status_changed", {"account_id": "acc-ev-3", "status": "frozen"}, event_id)
    assert redelivered.status_code == 200 and redelivered.get_json()["status"] == "processed"
    assert processed(owner_engines, event_id) == 1 and ledger_row(owner_engines, "acc-ev-3").status == "frozen"


def test_a_parked_event_in_a_batch_is_retry(client, owner_engines):
    envelope = {"id": str(uuid.uuid4()), "type": "account.closed", "source": "accounts",
                "occurred_at": "2026-12-01T00:00:00Z", "data": {"account_id": "acc-ev-4"}}
    response = client.post("/internal/events", json={"events": [envelope]}, headers=AS_ACCOUNTS)
    assert response.status_code == 200
    assert response.get_json()["results"][0]["status"] == "retry"


def test_a_close_event_that_cannot_apply_is_not_acknowledged(client, owner_engines):
    event(client, "account.opened", snapshot("acc-ev-5", 1))
    deposit(client, "acc-ev-5", "3.00")
    event_id = str(uuid.uuid4())
    response = event(client, "account.closed", snapshot("acc-ev-5", 2, status="closed"), event_id)
    assert response.status_code == 409 and response.get_json()["code"] == "retry_later"
    assert processed(owner_engines, event_id) == 0
    assert ledger_row(owner_engines, "acc-ev-5").status == "active"


def test_limit_changed_applies_by_version(client, owner_engines):
    event(client, "account.opened", snapshot("acc-ev-6", 1))
    assert event(client, "account.limit_changed", snapshot("acc-ev-6", 3, overdraft_limit="250.00")).status_code == 200
    assert event(client, "account.limit_changed", snapshot("acc-ev-6", 2, overdraft_limit="10.00")).status_code == 200
    assert tuple(ledger_row(owner_engines, "acc-ev-6"))[:3] == ("active", 25000, 3)


# --- KYC -----------------------------------------------------------------------------------

@pytest.fixture
def unverified(client):
    """Ursula is not verified (the ledger has never heard of her); Vera is."""
    own = open_account(client, "ursula", kyc=None)
    savings = open_account(client, "ursula", kyc=None)
    vera = open_account(client, "vera")
    deposit(client, own, "100.00")
    return own, savings, vera


def test_an_unverified_customer_moves_money_only_between_own_accounts(client, unverified, ledger_counts):
    own, savings, vera = unverified
    assert transfer(client, "ursula", own, savings, "10.00").status_code == 201
    before = ledger_counts()
    response = transfer(client, "ursula", own, vera, "10.00")
    assert response.status_code == 403 and response.get_json()["code"] == "kyc_required"
    assert ledger_counts()[:3] == before[:3]


def test_kyc_comes_after_ownership_and_before_status_and_funds(client, unverified):
    own, _, vera = unverified
    assert transfer(client, "ursula", own, "acc-nowhere", "1.00").status_code == 404
    assert transfer(client, "ursula", vera, own, "1.00").status_code == 404   # not hers
    put_account(client, snapshot(vera, 5, status="frozen", customer_id="vera"))
    frozen = transfer(client, "ursula", own, vera, "1.00")
    assert frozen.status_code == 403 and frozen.get_json()["code"] == "kyc_required"
    too_much = transfer(client, "ursula", own, open_account(client, "walter"), "500.00")
    assert too_much.get_json()["code"] == "kyc_required"


def test_verification_by_version_opens_and_closes_the_door(client, unverified):
    own, _, vera = unverified
    assert set_kyc(client, "ursula", "verified", version=2)["kyc_status"] == "verified"
    assert transfer(client, "ursula", own, vera, "10.00").status_code == 201
    stale = set_kyc(client, "ursula", "pending", version=1)  # older: ignored
    assert (stale["kyc_status"], stale["applied"]) == ("verified", False)
    assert event(client, "customer.kyc_changed",
                 {"customer_id": "ursula", "kyc_status": "rejected", "version": 3}).status_code == 200
    response = transfer(client, "ursula", own, vera, "10.00")
    assert response.status_code == 403 and response.get_json()["code"] == "kyc_required"


def test_a_refund_needs_no_kyc(client, unverified):
    own, _, vera = unverified
    deposit(client, vera, "50.00")
    sent = transfer(client, "vera", vera, own, "20.00").get_json()
    headers = {**auth_header("transactions", subject="ursula"), "Idempotency-Key": "refund-1"}
    response = client.post(f"/api/v1/transfers/{sent['id']}/reverse", headers=headers, json={})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert balance(client, vera) == "50.00"


@pytest.mark.parametrize("kyc_status", ["VERIFIED!", "verified\n", "", 5, None])
def test_a_malformed_kyc_update_is_422(client, owner_engines, kyc_status):
    response = client.put("/internal/ledger-customers/c-9", json={"kyc_status": kyc_status, "version": 1},
                          headers=AS_ACCOUNTS)
    assert response.status_code == 422 and "kyc_status" in response.get_json()["errors"]
    with owner_engines["transactions"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ledger_customers")).scalar_one() == 0
