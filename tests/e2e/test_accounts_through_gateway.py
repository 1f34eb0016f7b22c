"""Identity and accounts as a client sees them: every call through the gateway, real processes
(gateway, accounts, ledger) and real stores."""
import uuid

import pytest
import requests
from schwifty import IBAN

from devstack.stack import ensure_admin
from tests.support.clients import PASSWORD, eventually, sign_up

pytestmark = pytest.mark.e2e


class Caller:
    """A client of the gateway, logged in as one customer (or anonymous)."""

    def __init__(self, gateway: str, token: str | None = None):
        self.gateway = gateway
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.gateway + path, headers=headers, timeout=10, **kwargs)


def new_customer(gateway: str) -> tuple[dict, Caller]:
    customer = sign_up(gateway, "grace", phone="+441632960961")
    return customer, Caller(gateway, customer["token"])


@pytest.fixture(scope="module")
def gateway(suite):
    return suite.url("gateway")


@pytest.fixture(scope="module")
def admin(gateway, suite_databases):
    email, password = ensure_admin(suite_databases, log=lambda _m: None)
    login = requests.post(gateway + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=10)
    assert login.status_code == 200, login.text
    return Caller(gateway, login.json()["access_token"])


def verified_customer(gateway: str, admin: Caller) -> tuple[dict, Caller]:
    """A new customer whose KYC an admin has verified (they may pay other customers)."""
    customer, caller = new_customer(gateway)
    assert admin.call("POST", f"/api/v1/admin/customers/{customer['id']}/kyc",
                      json={"status": "verified"}).status_code == 200
    return customer, caller


def key() -> dict:
    """A fresh Idempotency-Key header."""
    return {"Idempotency-Key": str(uuid.uuid4())}


def open_account(caller: Caller, **body) -> dict:
    response = caller.call("POST", "/api/v1/accounts", json={"type": "checking", "currency": "EUR", **body})
    assert response.status_code == 201, response.text
    return response.json()


def deposit(admin: Caller, account_id: str, amount: str) -> None:
    # The ledger hears of the account through the outbox; it is usable within a second or so.
    def attempt():
        response = admin.call("POST", "/api/v1/admin/deposits", headers={"Idempotency-Key": str(uuid.uuid4())},
                              json={"account_id": account_id, "amount": amount, "currency": "EUR"})
        return response if response.status_code == 201 else None

    assert eventually(attempt, timeout=10) is not None, f"the ledger never accepted a deposit to {account_id}"


def problem(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


def test_registration_rules(gateway):
    customer, _caller = new_customer(gateway)
    assert customer["kyc_status"] == "unverified"
    anonymous = Caller(gateway)
    duplicate = anonymous.call("POST", "/api/v1/auth/register",
                               json={"email": customer["email"].upper(), "password": PASSWORD, "full_name": "Again"})
    problem(duplicate, 409, "email_taken")
    weak = anonymous.call("POST", "/api/v1/auth/register",
                          json={"email": f"weak-{uuid.uuid4().hex[:6]}@example.com", "password": "short",
                                "full_name": "Weak"})
    assert weak.status_code == 422 and "password" in weak.text
    malformed = anonymous.call("POST", "/api/v1/auth/register", data="{not json",
                               headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    wrong = anonymous.call("POST", "/api/v1/auth/login", json={"email": customer["email"], "password": "nope-nope-nope"})
    problem(wrong, 401, "invalid_credentials")


def test_me_and_an_account_with_its_ledger_balance(gateway, admin):
    customer, caller = new_customer(gateway)
    me = caller.call("GET", "/api/v1/me")
    assert me.status_code == 200 and me.json()["id"] == customer["id"]

    account = open_account(caller, nickname="Bills")
    assert account["status"] == "active" and account["type"] == "checking" and account["currency"] == "EUR"
    IBAN(account["number"])  # raises unless the check digits are valid
    deposit(admin, account["id"], "125.50")

    one = caller.call("GET", f"/api/v1/accounts/{account['id']}")
    assert one.status_code == 200 and one.headers.get("ETag")
    assert one.json()["balance"] == "125.50" and one.json()["available_balance"] == "125.50"
    listed = caller.call("GET", "/api/v1/accounts")
    assert listed.status_code == 200
    assert [(a["id"], a["balance"]) for a in listed.json()["items"]] == [(account["id"], "125.50")]


def test_bad_account_input_writes_nothing(gateway):
    _customer, caller = new_customer(gateway)
    for body, field in (({"type": "checking", "currency": "XYZ"}, "currency"),
                        ({"type": "piggy_bank", "currency": "EUR"}, "type")):
        response = caller.call("POST", "/api/v1/accounts", json=body)
        assert field in problem(response, 422, "validation_error")["errors"]
    oversized = caller.call("POST", "/api/v1/accounts", json={"type": "checking", "currency": "EUR",
                                                             "nickname": "x" * (2 * 1024 * 1024)})
    assert oversized.status_code == 413
    assert caller.call("GET", "/api/v1/accounts").json()["items"] == []


def test_another_customers_account_is_404_on_every_route(gateway):
    _owner, owner = new_customer(gateway)
    account = open_account(owner)
    _intruder, intruder = new_customer(gateway)
    for method, path, kwargs in (
            ("GET", f"/api/v1/accounts/{account['id']}", {}),
            ("PATCH", f"/api/v1/accounts/{account['id']}", {"json": {"nickname": "mine"}, "headers": {"If-Match": "*"}}),
            ("POST", f"/api/v1/accounts/{account['id']}/close", {}),
            ("GET", f"/api/v1/accounts/{account['id']}/transactions", {})):
        problem(intruder.call(method, path, **kwargs), 404, "not_found")


def test_nickname_needs_the_current_etag(gateway):
    _customer, caller = new_customer(gateway)
    account = open_account(caller)
    etag = caller.call("GET", f"/api/v1/accounts/{account['id']}").headers["ETag"]
    renamed = caller.call("PATCH", f"/api/v1/accounts/{account['id']}", json={"nickname": "Holidays"},
                          headers={"If-Match": etag})
    assert renamed.status_code == 200 and renamed.json()["nickname"] == "Holidays"
    stale = caller.call("PATCH", f"/api/v1/accounts/{account['id']}", json={"nickname": "Other"},
                        headers={"If-Match": etag})
    problem(stale, 412, "precondition_failed")
    assert caller.call("GET", f"/api/v1/accounts/{account['id']}").json()["nickname"] == "Holidays"


def test_closing_needs_a_zero_balance(gateway, admin):
    _customer, caller = new_customer(gateway)
    funded, empty = open_account(caller), open_account(caller)
    deposit(admin, funded["id"], "10.00")
    # The ledger decides (balance or holds not zero) and closes its side before the answer.
    problem(caller.call("POST", f"/api/v1/accounts/{funded['id']}/close"), 409, "account_not_empty")
    closed = caller.call("POST", f"/api/v1/accounts/{empty['id']}/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    # Closed in the ledger already: no deposit can land in it.
    late = admin.call("POST", "/api/v1/admin/deposits", headers={"Idempotency-Key": str(uuid.uuid4())},
                      json={"account_id": empty["id"], "amount": "1.00", "currency": "EUR"})
    problem(late, 409, "account_closed")


def test_admin_freeze_stops_money_and_is_audited(gateway, admin):
    _customer, caller = new_customer(gateway)
    source, target = open_account(caller), open_account(caller)
    deposit(admin, source["id"], "50.00")
    problem(caller.call("POST", f"/api/v1/admin/accounts/{source['id']}/freeze"), 403, "forbidden")

    frozen = admin.call("POST", f"/api/v1/admin/accounts/{source['id']}/freeze")
    assert frozen.status_code == 200 and frozen.json()["status"] == "frozen"
    # In force in the ledger before the freeze answered: the very next transfer is refused.
    transfer = {"from_account_id": source["id"], "to_account_id": target["id"], "amount": "5.00", "currency": "EUR"}
    refused = caller.call("POST", "/api/v1/transfers", json=transfer, headers={"Idempotency-Key": str(uuid.uuid4())})
    problem(refused, 409, "account_frozen")

    assert admin.call("POST", f"/api/v1/admin/accounts/{source['id']}/unfreeze").json()["status"] == "active"
    audit = admin.call("GET", "/api/v1/admin/audit-logs", params={"target_id": source["id"]})
    assert audit.status_code == 200
    actions = [entry["action"] for entry in audit.json()["items"]]
    assert actions == ["account.unfrozen", "account.frozen", "account.opened"]


def test_credit_only_after_kyc_and_in_force_in_the_ledger_at_once(gateway, admin):
    customer, caller = new_customer(gateway)
    assert customer["kyc_status"] == "unverified"
    refused = caller.call("POST", "/api/v1/accounts", json={"type": "credit_card", "currency": "EUR"})
    problem(refused, 403, "kyc_required")
    checking = open_account(caller)
    assert checking["overdraft_limit"] == "0.00"

    found = admin.call("GET", "/api/v1/admin/customers", params={"email": customer["email"].upper()})
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()["items"]] == [customer["id"]]
    problem(caller.call("POST", f"/api/v1/admin/customers/{customer['id']}/kyc", json={"status": "verified"}),
            403, "forbidden")
    verified = admin.call("POST", f"/api/v1/admin/customers/{customer['id']}/kyc",
                          json={"status": "verified", "note": "passport checked"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["kyc_status"] == "verified"
    assert caller.call("GET", "/api/v1/me").json()["kyc_status"] == "verified"

    card = open_account(caller, type="credit_card")
    assert card["overdraft_limit"] == "0.00"  # opening grants no credit
    granted = admin.call("PATCH", f"/api/v1/admin/accounts/{card['id']}", json={"overdraft_limit": "750.00"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["overdraft_limit"] == "750.00"
    # Immediately after the PATCH answered (no waiting for the outbox), the ledger has the line:
    # the card, at balance 0, pays out up to it and not a cent more.
    def spend(amount: str) -> requests.Response:
        return caller.call("POST", "/api/v1/transfers", headers={"Idempotency-Key": str(uuid.uuid4())},
                           json={"from_account_id": card["id"], "to_account_id": checking["id"], "amount": amount,
                                 "currency": "EUR"})

    first = spend("700.00")
    assert first.status_code == 201, first.text
    view = caller.call("GET", f"/api/v1/accounts/{card['id']}").json()
    # available_balance is balance less holds (API.md); the credit line is what may go below it.
    assert (view["overdraft_limit"], view["balance"], view["available_balance"]) == ("750.00", "-700.00", "-700.00")
    problem(spend("50.01"), 422, "insufficient_funds")
    # The ledger refuses a line below what is already used, and then nothing changes here either.
    problem(admin.call("PATCH", f"/api/v1/admin/accounts/{card['id']}", json={"overdraft_limit": "500.00"}),
            409, "overdraft_in_use")
    assert caller.call("GET", f"/api/v1/accounts/{card['id']}").json()["overdraft_limit"] == "750.00"

    audit = admin.call("GET", "/api/v1/admin/audit-logs", params={"customer_id": customer["id"]})
    actions = [entry["action"] for entry in audit.json()["items"]]
    assert "account.limit_changed" in actions and "customer.kyc_verified" in actions
    rejected = admin.call("POST", f"/api/v1/admin/customers/{customer['id']}/kyc", json={"status": "rejected"})
    assert rejected.status_code == 200
    problem(admin.call("PATCH", f"/api/v1/admin/accounts/{card['id']}", json={"overdraft_limit": "900.00"}),
            409, "kyc_required")
    problem(admin.call("PATCH", f"/api/v1/admin/accounts/{card['id']}", json={"overdraft_limit": "-1"}),
            422, "validation_error")


def test_a_kyc_decision_is_in_the_ledger_when_it_answers(gateway, admin):
    customer, caller = new_customer(gateway)
    _other, other = new_customer(gateway)
    source, payee = open_account(caller), open_account(other)
    deposit(admin, source["id"], "20.00")
    deposit(admin, payee["id"], "1.00")  # the ledger knows the payee's account too

    def pay() -> requests.Response:
        return caller.call("POST", "/api/v1/transfers", headers={"Idempotency-Key": str(uuid.uuid4())},
                           json={"from_account_id": source["id"], "to_account_id": payee["id"], "amount": "5.00",
                                 "currency": "EUR"})

    problem(pay(), 403, "kyc_required")  # unverified: own accounts only
    verified = admin.call("POST", f"/api/v1/admin/customers/{customer['id']}/kyc", json={"status": "verified"})
    assert verified.status_code == 200, verified.text
    paid = pay()  # at once, without waiting for customer.kyc_changed to travel
    assert paid.status_code == 201, paid.text
