"""Through the real suite (four gunicorn processes): forged tokens are 401 on every route, a
customer cannot reach another customer's resources through any route, and the dashboard
gathers real data."""
import time
import uuid

import jwt
import pytest
import requests

from services.common.service_auth import mint_internal_token
from tests.support.clients import eventually, sign_up
from tests.support.tokens import TEST_JWT_SIGNING_KEYS, TEST_SECRET

pytestmark = pytest.mark.e2e
ISSUER, AUDIENCE = "https://api.finovabank.example", "finova-api"


def call(suite, method, path, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, suite.url("gateway") + path, headers=headers, timeout=15, **kwargs)


def signing_key(token):
    """The key the suite's gateway signs with (the tests give it theirs), checked on a real token."""
    kid, _, secret = TEST_JWT_SIGNING_KEYS.split(",")[0].partition(":")
    assert jwt.get_unverified_header(token)["kid"] == kid
    jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE)
    return kid, secret


def claims(subject, **changes):
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "roles": ["customer"], "iat": now,
            "exp": now + 900, "typ": "access", **changes}


@pytest.fixture(scope="module")
def people(suite):
    """Ada (money, and a transfer to Carol), Bob (an account of his own, no part in it), an admin token."""
    gateway = suite.url("gateway")
    ada, bob, carol = sign_up(gateway, "ada"), sign_up(gateway, "bob"), sign_up(gateway, "carol")
    kid, secret = signing_key(ada["token"])
    admin = jwt.encode(claims(str(uuid.uuid4()), roles=["customer", "admin"]), secret, algorithm="HS256",
                       headers={"kid": kid})
    for person in (ada, bob, carol):
        opened = call(suite, "POST", "/api/v1/accounts", person["token"], json={"type": "checking", "currency": "EUR"})
        assert opened.status_code == 201, opened.text
        person["account"] = opened.json()["id"]
        wait_for_ledger(suite, person)
    # Money to another customer needs a verified identity (API.md, KYC).
    verified = call(suite, "POST", f"/api/v1/admin/customers/{ada['id']}/kyc", admin,
                    json={"status": "verified", "note": "documents checked"})
    assert verified.status_code == 200, verified.text
    deposit = call(suite, "POST", "/api/v1/admin/deposits", admin, headers={"Idempotency-Key": uuid.uuid4().hex},
                   json={"account_id": ada["account"], "amount": "100.00", "currency": "EUR"})
    assert deposit.status_code == 201, deposit.text
    transfer = call(suite, "POST", "/api/v1/transfers", ada["token"], headers={"Idempotency-Key": uuid.uuid4().hex},
                    json={"from_account_id": ada["account"], "to_account_id": carol["account"], "amount": "10.00",
                          "currency": "EUR", "description": "lunch"})
    assert transfer.status_code == 201, transfer.text
    ada["transfer"] = transfer.json()["id"]
    return {"ada": ada, "bob": bob, "admin": admin, "key": (kid, secret)}


def wait_for_ledger(suite, person, timeout=20):
    """The ledger hears of a new account through the outbox; wait until it has."""
    heard = eventually(lambda: call(suite, "GET", f"/api/v1/accounts/{person['account']}/transactions",
                                    person["token"]).status_code == 200, timeout=timeout)
    assert heard, "the ledger never heard of the account"


def forged_tokens(key, subject):
    kid, secret = key
    attacker = "an-attacker-secret-that-is-long-enough-0000"
    return {
        "alg none": jwt.encode(claims(subject), None, algorithm="none", headers={"kid": kid}),
        "wrong key": jwt.encode(claims(subject), attacker, algorithm="HS256", headers={"kid": kid}),
        "expired": jwt.encode(claims(subject, iat=int(time.time()) - 1000, exp=int(time.time()) - 100), secret,
                              algorithm="HS256", headers={"kid": kid}),
        "wrong audience": jwt.encode(claims(subject, aud="accounts"), secret, algorithm="HS256", headers={"kid": kid}),
        "unknown kid": jwt.encode(claims(subject), secret, algorithm="HS256", headers={"kid": "rotated-out"}),
        "internal token": mint_internal_token(TEST_SECRET, "accounts", "gateway", subject, ("admin",)),
        "internal token for the gateway": mint_internal_token(TEST_SECRET, AUDIENCE, "gateway", subject, ("admin",)),
        "tampered payload": _swap_payload(jwt.encode(claims(subject), secret, algorithm="HS256", headers={"kid": kid}),
                                          claims(subject, roles=["admin"])),
    }


def _swap_payload(token, new_claims):
    header, _, signature = token.split(".")
    payload = jwt.utils.base64url_encode(jwt.api_jws.json.dumps(new_claims).encode()).decode()
    return f"{header}.{payload}.{signature}"


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/accounts", "/api/v1/dashboard", "/api/v1/currencies",
                                  "/api/v1/preferences"])
def test_every_forged_token_is_401_on_every_route(suite, people, path):
    for case, token in forged_tokens(people["key"], people["ada"]["id"]).items():
        response = call(suite, "GET", path, token)
        assert response.status_code == 401, (case, response.text)
        assert response.json()["code"] == "unauthorized" and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_forged_admin_tokens_cannot_move_money(suite, people):
    for case, token in forged_tokens(people["key"], people["bob"]["id"]).items():
        response = call(suite, "POST", "/api/v1/admin/deposits", token, headers={"Idempotency-Key": uuid.uuid4().hex},
                        json={"account_id": people["bob"]["account"], "amount": "1000.00", "currency": "EUR"})
        assert response.status_code == 401, (case, response.text)
    balance = call(suite, "GET", f"/api/v1/accounts/{people['bob']['account']}", people["bob"]["token"]).json()
    assert balance["balance"] == "0.00"


def test_a_customer_cannot_reach_another_customers_resources(suite, people):
    ada, bob = people["ada"], people["bob"]
    account, transfer = ada["account"], ada["transfer"]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    attempts = {
        "read account": ("GET", f"/api/v1/accounts/{account}", {}),
        "rename account": ("PATCH", f"/api/v1/accounts/{account}", {"json": {"nickname": "mine"},
                                                                   "headers": {"If-Match": "*"}}),
        "close account": ("POST", f"/api/v1/accounts/{account}/close", {}),
        "statement": ("GET", f"/api/v1/accounts/{account}/transactions", {}),
        "read transfer": ("GET", f"/api/v1/transfers/{transfer}", {}),
        "reverse transfer": ("POST", f"/api/v1/transfers/{transfer}/reverse", {"json": {}, "headers": dict(key)}),
        "transfer out of it": ("POST", "/api/v1/transfers", {"headers": dict(key), "json": {
            "from_account_id": account, "to_account_id": bob["account"], "amount": "50.00", "currency": "EUR"}}),
    }
    for name, (method, path, kwargs) in attempts.items():
        response = call(suite, method, path, bob["token"], **kwargs)
        assert response.status_code == 404, (name, response.status_code, response.text)
        assert response.json()["code"] == "not_found", name
    for method, path in (("POST", "/api/v1/admin/deposits"), ("GET", "/api/v1/admin/audit-logs"),
                         ("POST", f"/api/v1/admin/accounts/{account}/freeze")):
        response = call(suite, method, path, bob["token"], json={"account_id": account, "amount": "1.00",
                                                                  "currency": "EUR"},
                        headers={"Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 403, (path, response.text)
    # Identity headers from the client are dropped: Bob stays Bob.
    smuggled = call(suite, "GET", "/api/v1/me", bob["token"], headers={"X-Customer-Id": ada["id"],
                                                                       "X-Internal-Token": "x"})
    assert smuggled.json()["id"] == bob["id"]
    assert account not in [a["id"] for a in call(suite, "GET", "/api/v1/accounts", bob["token"]).json()["items"]]
    dashboard = call(suite, "GET", "/api/v1/dashboard", bob["token"]).json()
    assert [a["id"] for a in dashboard["accounts"]] == [bob["account"]]
    assert {line["account_id"] for line in dashboard["recent_transactions"]} <= {bob["account"]}
    # Ada's money did not move.
    assert call(suite, "GET", f"/api/v1/accounts/{account}", ada["token"]).json()["balance"] == "90.00"
    inbox = call(suite, "GET", "/api/v1/notifications", ada["token"]).json()["items"]
    for notification in inbox:
        response = call(suite, "POST", f"/api/v1/notifications/{notification['id']}/read", bob["token"])
        assert response.status_code == 404


def test_the_dashboard_gathers_the_customers_real_data(suite, people):
    ada = people["ada"]
    response = call(suite, "GET", "/api/v1/dashboard", ada["token"], headers={"X-Request-ID": "dash-e2e"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["degraded"] == []
    assert [(a["id"], a["balance"]) for a in body["accounts"]] == [(ada["account"], "90.00")]
    amounts = [line["amount"] for line in body["recent_transactions"]]
    assert amounts == ["-10.00", "100.00"]  # newest first
    assert isinstance(body["unread_notifications"], int) and body["preferences"]["language"]
    assert response.headers["X-Request-ID"] == "dash-e2e"


def test_the_merged_openapi_document_and_docs_through_the_suite(suite):
    spec = call(suite, "GET", "/api/v1/openapi.json")
    assert spec.status_code == 200 and "x-degraded" not in spec.json()
    assert {"/api/v1/transfers", "/api/v1/accounts", "/api/v1/preferences", "/api/v1/dashboard"} <= set(spec.json()["paths"])
    assert call(suite, "GET", "/docs/").status_code == 200
