"""Tokens that must not work: at the gateway (customer access tokens) and straight at each
service (internal tokens). Every flaw is a 401 problem; a genuine token of another service
on a route that does not expect it is 403. The controls show the same routes answer a good
token, so the refusals are about the token."""
from __future__ import annotations

import base64
import json
import time
import uuid
import warnings

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.service_auth import ISSUER, mint_internal_token, signing_key_seed
from tests.support.clients import PASSWORD
from tests.support.tokens import TEST_JWT_SIGNING_KEYS, TEST_SECRET, TEST_SIGNING_KEYS, auth_header

from .conftest import assert_problem, key

pytestmark = [pytest.mark.e2e, pytest.mark.security]

GATEWAY_ISSUER, GATEWAY_AUDIENCE = "https://api.finovabank.example", "finova-api"
KID, _, GATEWAY_KEY = TEST_JWT_SIGNING_KEYS.split(",")[0].partition(":")
ATTACKER_KEY = "an-attacker-secret-that-is-long-enough-0000"


# --- At the gateway ----------------------------------------------------------------------

def _claims(subject: str, **changes) -> dict:
    now = int(time.time())
    return {"iss": GATEWAY_ISSUER, "aud": GATEWAY_AUDIENCE, "sub": subject, "roles": ["customer", "admin"],
            "iat": now, "exp": now + 900, "jti": uuid.uuid4().hex, "typ": "access", **changes}


def _signed(claims: dict, secret: str = GATEWAY_KEY, kid: str = KID, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # HS512 with the gateway's key is short for SHA-512: the point
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm, headers={"kid": kid})


def _without(claims: dict, name: str) -> dict:
    return {k: v for k, v in claims.items() if k != name}


def _unsigned(claims: dict) -> str:
    """alg none, written by hand (PyJWT will not verify it, an attacker does not need it to)."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    return f"{part(json.dumps({'alg': 'none', 'typ': 'JWT', 'kid': KID}).encode())}." \
           f"{part(json.dumps(claims).encode())}."


@pytest.fixture(scope="module")
def bad_access_tokens(gateway, intruder) -> dict[str, str]:
    login = requests.post(gateway + "/api/v1/auth/login", json={"email": intruder.email, "password": PASSWORD},
                          timeout=30)
    assert login.status_code == 200, login.text
    refresh = login.json()["refresh_token"]
    subject = intruder.id
    now = int(time.time())
    # Every forged token claims the admin role: if any got through, it would be the worst case.
    return {
        "refresh token as access": refresh,
        "typ refresh": _signed(_claims(subject, typ="refresh")),
        "no typ": _signed(_without(_claims(subject), "typ")),
        "wrong issuer": _signed(_claims(subject, iss="https://evil.example")),
        "wrong audience": _signed(_claims(subject, aud="accounts")),
        "no audience": _signed(_without(_claims(subject), "aud")),
        "alg none": _unsigned(_claims(subject)),
        "alg none, no signature part": _unsigned(_claims(subject))[:-1],
        "HS256 with another key": _signed(_claims(subject), ATTACKER_KEY),
        "HS256 with the internal secret": _signed(_claims(subject), TEST_SECRET),
        "HS512 with the right key": _signed(_claims(subject), GATEWAY_KEY, algorithm="HS512"),
        "unknown kid": _signed(_claims(subject), kid="rotated-out"),
        "expired": _signed(_claims(subject, iat=now - 2000, exp=now - 1000)),
        "not yet valid": _signed(_claims(subject, nbf=now + 3600)),
        "no expiry": _signed(_without(_claims(subject), "exp")),
        "no subject": _signed(_without(_claims(subject), "sub")),
        "internal token for the gateway": mint_internal_token(TEST_SIGNING_KEYS["gateway"], GATEWAY_AUDIENCE,
                                                              "gateway", subject, ("admin",)),
        "garbage": "not-a-jwt",
        "tampered payload": _tampered(login.json()["access_token"]),
    }


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["roles"] = ["customer", "admin"]
    forged = _signed(claims, ATTACKER_KEY).split(".")[1]
    return f"{header}.{forged}.{signature}"


ACCESS_CASES = ["refresh token as access", "typ refresh", "no typ", "wrong issuer", "wrong audience", "no audience",
                "alg none", "alg none, no signature part", "HS256 with another key", "HS256 with the internal secret",
                "HS512 with the right key", "unknown kid", "expired", "not yet valid", "no expiry", "no subject",
                "internal token for the gateway", "garbage", "tampered payload"]
GATEWAY_ROUTES = [("GET", "/api/v1/me"), ("GET", "/api/v1/accounts"), ("POST", "/api/v1/transfers"),
                  ("GET", "/api/v1/dashboard"), ("GET", "/api/v1/preferences"), ("GET", "/api/v1/admin/audit-logs"),
                  ("GET", "/api/v1/admin/outbox/dead-letters"), ("POST", "/api/v1/admin/deposits")]


@pytest.mark.parametrize("method,path", GATEWAY_ROUTES, ids=[f"{m} {p}" for m, p in GATEWAY_ROUTES])
@pytest.mark.parametrize("case", ACCESS_CASES)
def test_a_bad_access_token_is_401_at_the_gateway(gateway, intruder, bad_access_tokens, case, method, path):
    body = {"from_account_id": intruder.account, "to_account_id": intruder.account, "account_id": intruder.account,
            "amount": "1.00", "currency": "EUR"}
    response = requests.request(method, gateway + path, timeout=30, json=body if method == "POST" else None,
                                headers={"Authorization": f"Bearer {bad_access_tokens[case]}", **key()})
    assert_problem(response, 401, "unauthorized")
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), response.headers


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "bearer"])
def test_a_malformed_authorization_header_is_401(gateway, header):
    response = requests.get(gateway + "/api/v1/me", headers={"Authorization": header}, timeout=30)
    assert_problem(response, 401, "unauthorized")


def test_the_intruders_own_token_still_works(gateway, intruder):
    """The control for the gateway cases."""
    response = intruder.call("GET", "/api/v1/me")
    assert response.status_code == 200 and response.json()["id"] == intruder.id


# --- Straight to each service ------------------------------------------------------------

# (service, method, path, body): a customer route and an internal one of each service.
SERVICE_ROUTES = [
    ("accounts", "GET", "/api/v1/me", None),
    ("accounts", "POST", "/internal/auth/login", {"email": "x@example.com", "password": "whatever-123-abc"}),
    ("transactions", "GET", "/api/v1/currencies", None),
    ("transactions", "GET", "/internal/ledger-accounts", None),
    ("preferences", "GET", "/api/v1/preferences", None),
    ("preferences", "POST", "/internal/events", {"id": str(uuid.uuid4()), "type": "customer.registered",
                                                 "data": {}}),
]


def _forged_kid(service: str, caller: str, signer: str) -> str:
    """A token naming `caller` (claim and kid) but signed with `signer`'s key."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": service, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex,
              "caller": caller, "roles": ["admin"], "typ": "internal", "sub": str(uuid.uuid4())}
    private = Ed25519PrivateKey.from_private_bytes(signing_key_seed(TEST_SIGNING_KEYS[signer]))
    return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": caller})


def _bad_internal_tokens(service: str, subject: str) -> dict[str, str | None]:
    other = "transactions" if service != "transactions" else "accounts"
    gateway_key = TEST_SIGNING_KEYS["gateway"]
    return {
        "none": None,
        "wrong secret (HS256)": mint_internal_token(ATTACKER_KEY, service, "gateway", subject, ("admin",)),
        "the development shared secret (HS256)": mint_internal_token(TEST_SECRET, service, "gateway", subject,
                                                                      ("admin",)),
        "wrong audience": mint_internal_token(gateway_key, other, "gateway", subject, ("admin",)),
        "claims the gateway, signed by preferences": _forged_kid(service, "gateway", "preferences"),
        "claims the gateway, signed by accounts": _forged_kid(service, "gateway", "accounts"),
        "unknown issuer": _forged_kid(service, "mallory", "gateway"),
        "expired": mint_internal_token(gateway_key, service, "gateway", subject, ("admin",), ttl_seconds=-60),
        "lives a day": mint_internal_token(gateway_key, service, "gateway", subject, ("admin",), ttl_seconds=86400),
        "alg none": _unsigned({"iss": ISSUER, "aud": service, "iat": int(time.time()), "exp": int(time.time()) + 60,
                               "caller": "gateway", "typ": "internal", "sub": subject, "roles": ["admin"]}),
        "customer access token": _signed(_claims(subject)),
    }


INTERNAL_CASES = ["none", "wrong secret (HS256)", "the development shared secret (HS256)", "wrong audience",
                  "claims the gateway, signed by preferences", "claims the gateway, signed by accounts",
                  "unknown issuer", "expired", "lives a day", "alg none", "customer access token"]


@pytest.mark.parametrize("service,method,path,body", SERVICE_ROUTES, ids=[f"{s} {m} {p}" for s, m, p, _b in SERVICE_ROUTES])
@pytest.mark.parametrize("case", INTERNAL_CASES)
def test_a_bad_internal_token_is_401_at_the_service(suite, intruder, case, service, method, path, body):
    token = _bad_internal_tokens(service, intruder.id)[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, suite.url(service) + path, json=body, headers=headers, timeout=30)
    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize("service,path", [("accounts", "/api/v1/me"), ("transactions", "/api/v1/currencies"),
                                          ("preferences", "/api/v1/preferences")])
def test_another_services_genuine_token_is_403_on_a_customer_route(suite, intruder, service, path):
    """Customers come through the gateway only: a service's own token cannot act for one."""
    caller = "preferences" if service != "preferences" else "transactions"
    response = requests.get(suite.url(service) + path, timeout=30,
                            headers=auth_header(service, intruder.id, ("customer", "admin"), caller=caller))
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize("service,path", [("accounts", "/api/v1/me"), ("transactions", "/api/v1/currencies"),
                                          ("preferences", "/api/v1/preferences")])
def test_the_gateways_token_works_at_each_service(suite, intruder, service, path):
    """The control for the service cases."""
    response = requests.get(suite.url(service) + path, headers=auth_header(service, intruder.id, ("customer",)),
                            timeout=30)
    assert response.status_code == 200, response.text
