"""KYC and credit: the admin customer list and KYC decision, credit limits granted by an admin
only (after KYC for credit cards and loans), what unverified customers may open, and at most
10 open accounts per customer, each change in the ledger before the call answers."""
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from .factories import (admin_headers, customer_headers, open_account, register, verified_customer,
                        verify_kyc)


def limit(client, account_id: str, overdraft_limit, headers=None):
    return client.patch(f"/api/v1/admin/accounts/{account_id}", json={"overdraft_limit": overdraft_limit},
                        headers=headers or admin_headers())


def outbox(owner_engines, destination="transactions"):
    with owner_engines["accounts"].connect() as connection:
        return [(r.event_type, r.payload["data"]) for r in connection.execute(text(
            "SELECT event_type, payload FROM outbox_events WHERE destination = :d ORDER BY id"), {"d": destination})]


def audit_actions(owner_engines):
    with owner_engines["accounts"].connect() as connection:
        return connection.execute(text("SELECT action, actor_type, before, after FROM audit_logs ORDER BY id")).all()


@pytest.mark.parametrize("type_", ["credit_card", "loan", "investment"])
def test_an_unverified_customer_opens_only_checking_and_savings(client, owner_engines, type_):
    customer = register(client)
    for allowed in ("checking", "savings"):
        open_account(client, customer["id"], allowed)
    refused = client.post("/api/v1/accounts", json={"type": type_, "currency": "EUR"},
                          headers=customer_headers(customer["id"]))
    assert refused.status_code == 403 and refused.get_json()["code"] == "kyc_required"
    verify_kyc(client, customer["id"], "rejected")  # rejected is not verified either
    again = client.post("/api/v1/accounts", json={"type": type_, "currency": "EUR"},
                        headers=customer_headers(customer["id"]))
    assert again.status_code == 403
    verify_kyc(client, customer["id"])
    assert open_account(client, customer["id"], type_)["overdraft_limit"] == "0.00"


def test_kyc_decision_is_in_the_ledger_audited_and_published(client, ledger, owner_engines):
    customer = register(client)
    response = client.post(f"/api/v1/admin/customers/{customer['id']}/kyc",
                           json={"status": "verified", "note": "passport seen"}, headers=admin_headers())
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == customer["id"] and body["kyc_status"] == "verified" and body["version"] == 2
    assert ledger.customers[customer["id"]] == {"kyc_status": "verified", "version": 2}
    assert outbox(owner_engines) == [("customer.kyc_changed",
                                      {"customer_id": customer["id"], "kyc_status": "verified", "version": 2})]
    assert outbox(owner_engines, "preferences") == []
    entry = audit_actions(owner_engines)[-1]
    assert entry.action == "customer.kyc_verified" and entry.actor_type == "admin"
    assert entry.before == {"kyc_status": "unverified"} and entry.after == {"kyc_status": "verified",
                                                                            "note": "passport seen"}
    same = client.post(f"/api/v1/admin/customers/{customer['id']}/kyc", json={"status": "verified"},
                       headers=admin_headers())
    assert same.status_code == 200 and same.get_json()["version"] == 2 and len(outbox(owner_engines)) == 1
    me = client.get("/api/v1/me", headers=customer_headers(customer["id"]))
    assert me.get_json()["kyc_status"] == "verified"


def test_kyc_the_ledger_cannot_take_changes_nothing(client, ledger, owner_engines):
    customer = register(client)
    ledger.refuse_with = 500
    response = client.post(f"/api/v1/admin/customers/{customer['id']}/kyc", json={"status": "verified"},
                           headers=admin_headers())
    assert response.status_code == 503 and response.get_json()["code"] == "service_unavailable"
    with owner_engines["accounts"].connect() as connection:
        assert tuple(connection.execute(text("SELECT kyc_status, version FROM customers")).one()) == ("unverified", 1)
    assert outbox(owner_engines) == []


@pytest.mark.parametrize("body", [{"status": "pending"}, {}, {"status": "verified", "note": "a\u0000b"},
                                  {"status": "verified", "note": "x" * 501}, {"status": "verified", "extra": 1}])
def test_bad_kyc_decisions_are_422(client, body):
    customer = register(client)
    response = client.post(f"/api/v1/admin/customers/{customer['id']}/kyc", json=body, headers=admin_headers())
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"


def test_kyc_is_admin_only_and_unknown_customers_are_404(client):
    customer = register(client)
    as_customer = client.post(f"/api/v1/admin/customers/{customer['id']}/kyc", json={"status": "verified"},
                              headers=customer_headers(customer["id"]))
    assert as_customer.status_code == 403 and as_customer.get_json()["code"] == "forbidden"
    for unknown in ("7b1e6f0e-0000-4000-8000-000000000000", "not-a-uuid"):
        response = client.post(f"/api/v1/admin/customers/{unknown}/kyc", json={"status": "verified"},
                               headers=admin_headers())
        assert response.status_code == 404
    assert client.get("/api/v1/admin/customers", headers=customer_headers(customer["id"])).status_code == 403


def test_the_customer_list_filters_and_paginates(client):
    ada = register(client, email="Ada.Lovelace@Example.com")
    others = [register(client) for _ in range(3)]
    verify_kyc(client, others[0]["id"])
    url = "/api/v1/admin/customers"
    by_email = client.get(f"{url}?email=ada.lovelace@example.COM", headers=admin_headers()).get_json()
    assert [c["id"] for c in by_email["items"]] == [ada["id"]] and by_email["next_cursor"] is None
    assert client.get(f"{url}?email=ada.lovelace", headers=admin_headers()).get_json()["items"] == []  # exact
    verified = client.get(f"{url}?kyc_status=verified", headers=admin_headers()).get_json()["items"]
    assert [c["id"] for c in verified] == [others[0]["id"]]
    page = client.get(f"{url}?limit=3", headers=admin_headers()).get_json()
    rest = client.get(f"{url}?limit=3&cursor={page['next_cursor']}", headers=admin_headers()).get_json()
    assert [c["id"] for c in page["items"] + rest["items"]] == [ada["id"]] + [o["id"] for o in others]
    assert rest["next_cursor"] is None
    assert set(page["items"][0]) >= {"id", "email", "full_name", "kyc_status", "version", "created_at"}
    for query in ("kyc_status=pending", "limit=0", "cursor=garbage", "email=a%00b"):
        assert client.get(f"{url}?{query}", headers=admin_headers()).status_code == 422


def test_an_admin_grants_credit_in_the_ledger_before_answering(client, ledger, owner_engines):
    customer = verified_customer(client)
    card = open_account(client, customer["id"], "credit_card")
    response = limit(client, card["id"], "2500.00")
    assert response.status_code == 200 and response.get_json()["overdraft_limit"] == "2500.00"
    assert response.headers["ETag"] == '"v2"'
    assert ledger.accounts[card["id"]]["overdraft_limit"] == "2500.00"
    event_type, data = outbox(owner_engines)[-1]
    assert event_type == "account.limit_changed"
    assert data == {"account_id": card["id"], "customer_id": customer["id"], "number": card["number"],
                    "type": "credit_card", "currency": "EUR", "status": "active", "overdraft_limit": "2500.00",
                    "version": 2}
    assert ledger.puts[-1] == (card["id"], data)
    assert outbox(owner_engines, "preferences")[-1] == (event_type, data)
    entry = audit_actions(owner_engines)[-1]
    assert (entry.action, entry.actor_type, entry.before, entry.after) == (
        "account.limit_changed", "admin", {"overdraft_limit": "0.00"}, {"overdraft_limit": "2500.00"})
    assert limit(client, card["id"], "0").get_json()["overdraft_limit"] == "0.00"  # lowered again


def test_credit_on_a_card_or_loan_needs_a_verified_customer(client, ledger, owner_engines):
    customer = verified_customer(client)
    card = open_account(client, customer["id"], "credit_card")
    checking = open_account(client, customer["id"])
    verify_kyc(client, customer["id"], "rejected")
    refused = limit(client, card["id"], "100.00")
    assert refused.status_code == 409 and refused.get_json()["code"] == "kyc_required"
    assert limit(client, card["id"], "0.00").status_code == 200  # taking credit away needs no KYC
    assert limit(client, checking["id"], "100.00").status_code == 200  # an overdraft is not a card or loan
    assert [put for put in ledger.puts if put[0] == card["id"]] == []  # nothing reached the ledger


@pytest.mark.parametrize("value", ["-1", "1.001", "1e3", " 10", "+5", "1000000000000", 5, None, "١"])
def test_bad_limits_are_422_and_change_nothing(client, ledger, value):
    customer = verified_customer(client)
    card = open_account(client, customer["id"], "credit_card")
    response = limit(client, card["id"], value)
    assert response.status_code == 422 and "overdraft_limit" in response.get_json()["errors"]
    assert [put for put in ledger.puts if put[0] == card["id"]] == []


def test_limits_follow_the_currency_and_refuse_closed_unknown_and_customers(client, ledger):
    customer = verified_customer(client)
    yen = open_account(client, customer["id"], "credit_card", "JPY")
    assert limit(client, yen["id"], "0.5").status_code == 422  # JPY has no minor units
    assert limit(client, yen["id"], "50000").get_json()["overdraft_limit"] == "50000"
    as_customer = limit(client, yen["id"], "1.00", headers=customer_headers(customer["id"]))
    assert as_customer.status_code == 403
    assert limit(client, "7b1e6f0e-0000-4000-8000-000000000000", "1.00").status_code == 404
    savings = open_account(client, customer["id"], "savings")
    ledger.set_balance(savings["id"], "0.00")
    client.post(f"/api/v1/accounts/{savings['id']}/close", headers=customer_headers(customer["id"]))
    closed = limit(client, savings["id"], "1.00")
    assert closed.status_code == 409 and closed.get_json()["code"] == "account_closed"


def test_the_ledger_unreachable_leaves_the_limit_alone(client, ledger, owner_engines):
    customer = verified_customer(client)
    card = open_account(client, customer["id"], "credit_card")
    ledger.refuse_with = 502
    response = limit(client, card["id"], "100.00")
    assert response.status_code == 503
    with owner_engines["accounts"].connect() as connection:
        row = connection.execute(text("SELECT overdraft_limit, version FROM bank_accounts WHERE id = :id"),
                                 {"id": card["id"]}).one()
    assert (row.overdraft_limit, row.version) == (0, 1)
    assert [t for t, _ in outbox(owner_engines)].count("account.limit_changed") == 0


def test_at_most_ten_open_accounts(client, ledger):
    customer = register(client)
    accounts = [open_account(client, customer["id"]) for _ in range(10)]
    eleventh = client.post("/api/v1/accounts", json={"type": "savings", "currency": "EUR"},
                           headers=customer_headers(customer["id"]))
    assert eleventh.status_code == 409 and eleventh.get_json()["code"] == "account_limit_reached"
    ledger.set_balance(accounts[0]["id"], "0.00")
    client.post(f"/api/v1/accounts/{accounts[0]['id']}/close", headers=customer_headers(customer["id"]))
    open_account(client, customer["id"], "savings")  # a closed one no longer counts


def test_concurrent_openings_cannot_pass_ten(accounts_app, owner_engines):
    client = accounts_app.test_client()
    customer = register(client)
    for _ in range(8):
        open_account(client, customer["id"])
    statuses, barrier = [], threading.Barrier(4)

    def attempt():
        barrier.wait()
        response = accounts_app.test_client().post("/api/v1/accounts", json={"type": "checking", "currency": "EUR"},
                                                   headers=customer_headers(customer["id"]))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 201, 409, 409]
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM bank_accounts")).scalar_one() == 10


def test_the_database_refuses_what_the_api_refuses(client, owner_engines):
    """Hand-written SQL cannot mint credit, open an 11th account or skip a version."""
    customer = register(client)
    checking = open_account(client, customer["id"])
    engine = owner_engines["accounts"]
    statements = [
        "UPDATE bank_accounts SET type = 'credit_card', overdraft_limit = 1000, version = version + 1",
        "UPDATE bank_accounts SET status = 'frozen'",  # no version bump
        "UPDATE customers SET kyc_status = 'verified'",  # no version bump
        f"""INSERT INTO bank_accounts (id, customer_id, number, type, currency)
            VALUES (gen_random_uuid(), '{customer["id"]}', 'GB00TEST0', 'loan', 'EUR')""",
    ]
    for statement in statements:
        with pytest.raises(IntegrityError):
            with engine.begin() as connection:
                connection.execute(text(statement))
    with engine.begin() as connection:
        for n in range(9):
            connection.execute(text("INSERT INTO bank_accounts (id, customer_id, number, type, currency) "
                                    "VALUES (gen_random_uuid(), :c, :n, 'checking', 'EUR')"),
                               {"c": customer["id"], "n": f"GB00TEST{n}"})
    with pytest.raises(IntegrityError, match="ck_bank_accounts_open_limit|10 open accounts"):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO bank_accounts (id, customer_id, number, type, currency) "
                                    "VALUES (gen_random_uuid(), :c, 'GB00TEST99', 'checking', 'EUR')"),
                               {"c": customer["id"]})
    assert checking["overdraft_limit"] == "0.00"
