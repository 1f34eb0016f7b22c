"""Access tokens: every flaw is a 401 problem at the gateway, and signing keys can rotate."""
import time
import warnings

import jwt
import pytest
from flask import Flask, request

from services.common.service_auth import mint_internal_token, verify_internal_token
from tests.support.servers import serving
from tests.support.tokens import TEST_SECRET

from .conftest import AUDIENCE, ISSUER, access_tokens, bearer, gateway_for

CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
SECRET_K2 = "gateway-test-signing-key-number-two-0123456789"


def claims(**changes):
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": CUSTOMER, "roles": ["customer"], "iat": now,
            "exp": now + 900, "typ": "access", **changes}


@pytest.fixture(scope="module")
def upstream():
    app = Flask("accounts")

    @app.get("/api/v1/me")
    def me():
        principal = verify_internal_token(request.headers["Authorization"].split()[1], TEST_SECRET, "accounts")
        return {"subject": principal.subject, "roles": list(principal.roles)}
    with serving(app) as server:
        yield server


@pytest.fixture
def gateway(upstream):
    return gateway_for(accounts=upstream.url).test_client()


def test_a_valid_token_forwards_its_customer_and_roles(gateway):
    response = gateway.get("/api/v1/me", headers=bearer(CUSTOMER, ("customer", "admin")))
    assert response.status_code == 200
    assert response.get_json() == {"subject": CUSTOMER, "roles": ["customer", "admin"]}


def test_the_token_header_names_its_key():
    header = jwt.get_unverified_header(access_tokens().issue(CUSTOMER, ["customer"]))
    assert header == {"alg": "HS256", "typ": "JWT", "kid": "k2"}


FORGED = {
    "missing": None,
    "not a jwt": "not-a-jwt",
    "alg none": jwt.encode(claims(), None, algorithm="none", headers={"kid": "k2"}),
    "wrong key": jwt.encode(claims(), "an-attacker-secret-that-is-long-enough-000", algorithm="HS256", headers={"kid": "k2"}),
    "unknown kid": jwt.encode(claims(), SECRET_K2, algorithm="HS256", headers={"kid": "k9"}),
    "no kid": jwt.encode(claims(), SECRET_K2, algorithm="HS256"),
    "expired": jwt.encode(claims(exp=int(time.time()) - 60), SECRET_K2, algorithm="HS256", headers={"kid": "k2"}),
    "wrong audience": jwt.encode(claims(aud="someone-else"), SECRET_K2, algorithm="HS256", headers={"kid": "k2"}),
    "wrong issuer": jwt.encode(claims(iss="https://evil.example"), SECRET_K2, algorithm="HS256", headers={"kid": "k2"}),
    "not an access token": jwt.encode(claims(typ="refresh"), SECRET_K2, algorithm="HS256", headers={"kid": "k2"}),
    "no subject": jwt.encode({k: v for k, v in claims().items() if k != "sub"}, SECRET_K2, algorithm="HS256",
                             headers={"kid": "k2"}),
    "internal token": mint_internal_token(TEST_SECRET, "accounts", "gateway", CUSTOMER, ("admin",)),
}
with warnings.catch_warnings():  # PyJWT warns that the key is short for HS512: that is the point
    warnings.simplefilter("ignore")
    FORGED["HS512 with the right key"] = jwt.encode(claims(), SECRET_K2, algorithm="HS512", headers={"kid": "k2"})


@pytest.mark.parametrize("case", list(FORGED))
def test_every_flawed_token_is_a_401_problem(gateway, case):
    token = FORGED[case]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = gateway.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_from_the_previous_key_works_until_that_key_is_removed(upstream):
    old_key_only = "k1:gateway-test-signing-key-number-one-012345678"
    token = bearer(CUSTOMER, keys=old_key_only)  # signed before k2 was put first
    assert gateway_for(accounts=upstream.url).test_client().get("/api/v1/me", headers=token).status_code == 200
    from gateway.app import create_app
    from conftest import service_config
    rotated = create_app(service_config(ACCOUNTS_URL=upstream.url,
                                        JWT_SIGNING_KEYS="k2:gateway-test-signing-key-number-two-0123456789"))
    assert rotated.test_client().get("/api/v1/me", headers=token).status_code == 401


def test_register_is_public_and_goes_upstream_without_a_customer():
    app = Flask("accounts")

    @app.post("/api/v1/auth/register")
    def register():
        principal = verify_internal_token(request.headers["Authorization"].split()[1], TEST_SECRET, "accounts")
        return {"subject": principal.subject}, 201
    with serving(app) as server:
        response = gateway_for(accounts=server.url).test_client().post(
            "/api/v1/auth/register", json={}, headers=bearer(CUSTOMER))
    assert response.status_code == 201 and response.get_json() == {"subject": None}


@pytest.mark.parametrize("raw,message", [
    ("k1", "kid:secret"), ("k1:short", "at least 32"), ("k1:" + "x" * 32 + ",k1:" + "y" * 32, "unique")])
def test_malformed_signing_keys_stop_the_gateway(monkeypatch, raw, message):
    from gateway.app import create_app
    from services.common.config import ConfigError
    monkeypatch.setenv("JWT_SIGNING_KEYS", raw)
    with pytest.raises(ConfigError, match=f"JWT_SIGNING_KEYS is malformed.*{message}"):
        create_app({"INTERNAL_TOKEN_SECRET": TEST_SECRET})


def test_a_token_is_verified_once_and_trusted_only_until_its_expiry(monkeypatch):
    tokens = access_tokens(ttl_seconds=1)
    token = tokens.issue(CUSTOMER, ["customer"])
    expiry = jwt.decode(token, options={"verify_signature": False})["exp"]
    checks = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: checks.append(1) or real_decode(*a, **k))
    assert tokens.verify(token).subject == CUSTOMER
    assert tokens.verify(token).subject == CUSTOMER
    assert len(checks) == 1  # the second request reused the first one's check

    time.sleep(max(0.0, expiry - time.time()) + 0.1)
    with pytest.raises(Exception) as refused:
        tokens.verify(token)
    assert getattr(refused.value, "status", None) == 401 and len(checks) == 2


def test_a_refused_token_is_not_remembered(monkeypatch):
    tokens = access_tokens()
    for _ in range(2):
        with pytest.raises(Exception) as refused:
            tokens.verify(FORGED["wrong key"])
        assert refused.value.status == 401
    assert tokens._verified == {}
