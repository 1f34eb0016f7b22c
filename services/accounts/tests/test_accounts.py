"""Bank accounts: open, list and read with the ledger's balances, rename, close."""
import pytest
from schwifty import IBAN
from sqlalchemy import text

from .factories import customer_headers, open_account, register, verified_customer


@pytest.fixture
def customer(client):
    return register(client)


def outbox(owner_engines, destination="transactions"):
    """The events queued for one subscriber (each account event goes to the ledger and to preferences)."""
    with owner_engines["accounts"].connect() as connection:
        return connection.execute(text("SELECT event_type, destination, payload FROM outbox_events "
                                       "WHERE destination = :d ORDER BY id"), {"d": destination}).all()


def test_open_answers_the_account_with_a_valid_iban_and_publishes_it(client, customer, owner_engines):
    response = client.post("/api/v1/accounts", json={"type": "checking", "currency": "EUR", "nickname": "Bills"},
                           headers=customer_headers(customer["id"]))
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "number", "type", "currency", "status", "nickname", "overdraft_limit", "created_at"}
    assert body["status"] == "active" and body["overdraft_limit"] == "0.00" and body["nickname"] == "Bills"
    iban = IBAN(body["number"])  # raises on bad check digits
    assert iban.country_code == "GB" and iban.bank_code == "FNVA" and iban.branch_code == "040004"
    assert response.headers["ETag"] == '"v1"'
    [(event_type, destination, payload)] = outbox(owner_engines)
    assert (event_type, destination) == ("account.opened", "transactions")
    assert payload["data"] == {"account_id": body["id"], "customer_id": customer["id"], "number": body["number"],
                               "currency": "EUR", "type": "checking", "overdraft_limit": "0.00",
                               "status": "active", "version": 1}
    [(_type, _destination, to_preferences)] = outbox(owner_engines, "preferences")
    assert to_preferences == payload  # one event, one id, two subscribers


@pytest.mark.parametrize("type_,currency,zero", [("checking", "EUR", "0.00"), ("savings", "BHD", "0.000"),
                                                 ("credit_card", "JPY", "0"), ("loan", "EUR", "0.00"),
                                                 ("investment", "USD", "0.00")])
def test_every_type_opens_without_credit(client, owner_engines, type_, currency, zero):
    customer = verified_customer(client)  # even a verified customer gets no credit by opening
    opened = open_account(client, customer["id"], type_, currency)
    assert opened["overdraft_limit"] == zero
    [event] = [row for row in outbox(owner_engines) if row.event_type == "account.opened"]
    assert event.payload["data"]["overdraft_limit"] == zero


def test_numbers_are_unique(client, customer):
    numbers = {open_account(client, customer["id"])["number"] for _ in range(3)}
    assert len(numbers) == 3


@pytest.mark.parametrize("body,field", [
    ({"type": "checking", "currency": "XYZ"}, "currency"),
    ({"type": "checking", "currency": "XAU"}, "currency"),
    ({"type": "checking", "currency": "eur"}, "currency"),
    ({"type": "pension", "currency": "EUR"}, "type"),
    ({"currency": "EUR"}, "type"),
    ({"type": "checking", "currency": "EUR", "overdraft_limit": "1000000"}, "overdraft_limit"),
])
def test_bad_input_is_422_and_writes_nothing(client, customer, owner_engines, body, field):
    response = client.post("/api/v1/accounts", json=body, headers=customer_headers(customer["id"]))
    assert response.status_code == 422 and field in response.get_json()["errors"]
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM bank_accounts")).scalar_one() == 0
    assert outbox(owner_engines) == []


def test_list_and_get_carry_the_ledgers_balances(client, customer, ledger):
    first = open_account(client, customer["id"])
    second = open_account(client, customer["id"], "savings", "JPY")
    ledger.set_balance(first["id"], "10.50")
    listed = client.get("/api/v1/accounts", headers=customer_headers(customer["id"])).get_json()
    assert [a["id"] for a in listed["items"]] == [first["id"], second["id"]] and listed["next_cursor"] is None
    assert listed["items"][0]["balance"] == "10.50" and listed["items"][0]["balance_unavailable"] is False
    # The ledger has not heard of the second one yet: it cannot say.
    assert listed["items"][1]["balance"] is None and listed["items"][1]["balance_unavailable"] is True
    one = client.get(f"/api/v1/accounts/{first['id']}", headers=customer_headers(customer["id"]))
    assert one.status_code == 200 and one.get_json()["available_balance"] == "10.50"
    assert one.headers["ETag"] == '"v1"' and set(ledger.callers) == {"accounts"}


def test_a_down_ledger_gives_null_balances_not_an_error(ledger_down_client):
    customer = register(ledger_down_client)
    account = open_account(ledger_down_client, customer["id"])
    headers = customer_headers(customer["id"])
    listed = ledger_down_client.get("/api/v1/accounts", headers=headers)
    one = ledger_down_client.get(f"/api/v1/accounts/{account['id']}", headers=headers)
    assert listed.status_code == one.status_code == 200
    for view in (listed.get_json()["items"][0], one.get_json()):
        assert view["balance"] is None and view["available_balance"] is None and view["balance_unavailable"] is True


def test_the_list_is_cursor_paginated(client, customer):
    opened = [open_account(client, customer["id"])["id"] for _ in range(3)]
    headers = customer_headers(customer["id"])
    page = client.get("/api/v1/accounts?limit=2", headers=headers).get_json()
    assert [a["id"] for a in page["items"]] == opened[:2] and page["next_cursor"]
    rest = client.get(f"/api/v1/accounts?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [a["id"] for a in rest["items"]] == opened[2:] and rest["next_cursor"] is None
    assert client.get("/api/v1/accounts?limit=501", headers=headers).status_code == 422
    assert client.get("/api/v1/accounts?cursor=garbage", headers=headers).status_code == 422


def test_another_customers_account_is_404(client, customer):
    account = open_account(client, customer["id"])
    other = register(client)
    headers = customer_headers(other["id"])
    for response in (client.get(f"/api/v1/accounts/{account['id']}", headers=headers),
                     client.patch(f"/api/v1/accounts/{account['id']}", json={"nickname": "Mine"},
                                  headers={**headers, "If-Match": '"v1"'}),
                     client.post(f"/api/v1/accounts/{account['id']}/close", headers=headers),
                     client.get("/api/v1/accounts/not-a-uuid", headers=headers)):
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert client.get("/api/v1/accounts", headers=headers).get_json()["items"] == []


def test_rename_needs_the_current_etag(client, customer, owner_engines):
    account = open_account(client, customer["id"])
    url, headers = f"/api/v1/accounts/{account['id']}", customer_headers(customer["id"])
    missing = client.patch(url, json={"nickname": "Holidays"}, headers=headers)
    assert missing.status_code == 428
    renamed = client.patch(url, json={"nickname": "Holidays"}, headers={**headers, "If-Match": '"v1"'})
    assert renamed.status_code == 200 and renamed.get_json()["nickname"] == "Holidays"
    assert renamed.headers["ETag"] == '"v2"'
    stale = client.patch(url, json={"nickname": "Rent"}, headers={**headers, "If-Match": '"v1"'})
    assert stale.status_code == 412 and stale.get_json()["code"] == "precondition_failed"
    assert client.get(url, headers=headers).get_json()["nickname"] == "Holidays"
    too_long = client.patch(url, json={"nickname": "x" * 61}, headers={**headers, "If-Match": '"v2"'})
    assert too_long.status_code == 422


def test_close_an_empty_account(client, customer, ledger, owner_engines):
    account = open_account(client, customer["id"])
    ledger.set_balance(account["id"], "0.00")
    response = client.post(f"/api/v1/accounts/{account['id']}/close", headers=customer_headers(customer["id"]))
    assert response.status_code == 200 and response.get_json()["status"] == "closed"
    assert response.headers["ETag"] == '"v2"'
    assert [row.event_type for row in outbox(owner_engines)] == ["account.opened", "account.closed"]
    closed = outbox(owner_engines)[-1].payload["data"]
    assert closed == {"account_id": account["id"], "customer_id": customer["id"], "number": account["number"],
                      "type": "checking", "currency": "EUR", "status": "closed", "overdraft_limit": "0.00",
                      "version": 2}
    assert ledger.puts == [(account["id"], closed)]  # the ledger closed it before we answered
    again = client.post(f"/api/v1/accounts/{account['id']}/close", headers=customer_headers(customer["id"]))
    assert again.status_code == 409 and again.get_json()["code"] == "account_closed"
    assert len(ledger.puts) == 1


@pytest.mark.parametrize("balance,held", [("0.01", "0.00"), ("-5.00", "0.00"), ("0.00", "3.00")])
def test_the_ledger_refuses_to_close_an_account_that_is_not_empty(client, customer, ledger, owner_engines,
                                                                  balance, held):
    account = open_account(client, customer["id"])
    ledger.set_balance(account["id"], balance, held)
    response = client.post(f"/api/v1/accounts/{account['id']}/close", headers=customer_headers(customer["id"]))
    assert response.status_code == 409 and response.get_json()["code"] == "account_not_empty"
    assert response.get_json()["balance"] == balance  # the ledger's detail is passed on
    assert [row.event_type for row in outbox(owner_engines)] == ["account.opened"]
    view = client.get(f"/api/v1/accounts/{account['id']}", headers=customer_headers(customer["id"]))
    assert view.get_json()["status"] == "active" and view.headers["ETag"] == '"v1"'


@pytest.mark.parametrize("refusal", [None, 500, 403])
def test_close_is_503_and_changes_nothing_when_the_ledger_cannot_take_it(client, customer, ledger, owner_engines,
                                                                         ledger_down_client, refusal):
    account = open_account(client, customer["id"])
    if refusal is None:
        response = ledger_down_client.post(f"/api/v1/accounts/{account['id']}/close",
                                           headers=customer_headers(customer["id"]))
    else:
        ledger.refuse_with = refusal
        response = client.post(f"/api/v1/accounts/{account['id']}/close", headers=customer_headers(customer["id"]))
    assert response.status_code == 503 and response.get_json()["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"
    view = client.get(f"/api/v1/accounts/{account['id']}", headers=customer_headers(customer["id"]))
    assert view.get_json()["status"] == "active" and view.headers["ETag"] == '"v1"'
    assert [row.event_type for row in outbox(owner_engines)] == ["account.opened"]
