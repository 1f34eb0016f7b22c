"""Internal identity: each service signs with its own Ed25519 key, a receiver accepts only the
issuers it trusts, each route class only the callers it expects, and INTERNAL_TOKEN_TTL_SECONDS
bounds a token's life on both sides."""
import time

import jwt
import pytest
from flask import Blueprint, Flask, g, jsonify

from services.common.app_factory import create_service_app
from services.common.http_client import ServiceClient
from services.common.service_auth import (ISSUER, development_signing_key, generate_signing_key,
                                          mint_internal_token, parse_signing_secret, parse_trusted_keys,
                                          public_key_of, trusted_keys_text, verify_internal_token)
from services.common.errors import Problem
from tests.support.tokens import TEST_SECRET

KEYS = {name: generate_signing_key() for name in ("gateway", "accounts", "transactions", "preferences")}
TRUSTED = trusted_keys_text(KEYS)


def transactions_app(**config):
    app, _api = create_service_app("transactions", [], {"INTERNAL_TOKEN_SECRET": KEYS["transactions"],
                                                        "INTERNAL_TRUSTED_KEYS": TRUSTED, **config})
    blp = Blueprint("probe", __name__)

    @blp.route("/api/v1/things", methods=["GET"])
    @blp.route("/internal/events", methods=["POST"])
    @blp.route("/internal/ledger-accounts", methods=["GET"])
    @blp.route("/internal/other", methods=["GET"])
    def probe():
        return jsonify(caller=g.principal.caller, subject=g.principal.subject)

    app.register_blueprint(blp)
    return app


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def as_(caller, audience="transactions", **kwargs):
    return bearer(mint_internal_token(KEYS[caller], audience, caller, **kwargs))


@pytest.fixture
def client():
    return transactions_app().test_client()


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/api/v1/things", {"gateway"}),
    ("POST", "/internal/events", {"accounts"}),
    ("GET", "/internal/ledger-accounts", {"accounts"}),
    ("GET", "/internal/other", {"accounts", "preferences", "transactions"}),
])
def test_each_route_class_takes_only_the_callers_it_expects(client, method, path, allowed):
    for caller in KEYS:
        response = client.open(path, method=method, headers=as_(caller, subject="c1"))
        if caller in allowed:
            assert response.status_code == 200, (caller, path, response.get_data(as_text=True))
            assert response.get_json()["caller"] == caller
        else:
            assert response.status_code == 403, (caller, path)
            assert response.get_json()["code"] == "forbidden"


def claims(caller="accounts", **changes):
    now = int(time.time())
    return {"iss": ISSUER, "aud": "transactions", "iat": now, "exp": now + 30, "jti": "j", "caller": caller,
            "roles": [], "typ": "internal", **changes}


def test_a_service_cannot_sign_as_another(client):
    preferences_key = KEYS["preferences"]
    forged = {
        # preferences' key, claiming to be accounts (kid and caller): the signature fails.
        "kid accounts": mint_internal_token(preferences_key, "transactions", "accounts"),
        # preferences' own kid, but the caller claim says accounts.
        "caller accounts": jwt.encode(claims("accounts"), _private(preferences_key), algorithm="EdDSA",
                                      headers={"kid": "preferences"}),
        "unknown issuer": mint_internal_token(generate_signing_key(), "transactions", "intruder"),
        "a fresh key for a known name": mint_internal_token(generate_signing_key(), "transactions", "accounts"),
        "development key": mint_internal_token(development_signing_key("accounts"), "transactions", "accounts"),
        # The shared-secret mode is off once a service signs with a key of its own.
        "shared secret": mint_internal_token(TEST_SECRET, "transactions", "accounts"),
        "alg none": jwt.encode(claims(), None, algorithm="none", headers={"kid": "accounts"}),
        "wrong audience": mint_internal_token(KEYS["accounts"], "preferences", "accounts"),
        "expired": jwt.encode(claims(iat=int(time.time()) - 100, exp=int(time.time()) - 50),
                              _private(KEYS["accounts"]), algorithm="EdDSA", headers={"kid": "accounts"}),
        "not internal": jwt.encode(claims(typ="access"), _private(KEYS["accounts"]), algorithm="EdDSA",
                                   headers={"kid": "accounts"}),
    }
    for case, token in forged.items():
        response = client.post("/internal/events", headers=bearer(token))
        assert response.status_code == 401, (case, response.get_data(as_text=True))
        assert response.get_json()["code"] == "unauthorized"
    assert client.post("/internal/events", headers=as_("accounts")).status_code == 200


def _private(key):
    from services.common.service_auth import _private_key
    return _private_key(key)


def test_two_keys_for_one_issuer_during_a_rotation():
    old, new = generate_signing_key(), generate_signing_key()
    trusted = f"gateway:{public_key_of(new)},gateway:{public_key_of(old)}"
    client = transactions_app(INTERNAL_TRUSTED_KEYS=trusted).test_client()
    for key in (old, new):
        token = mint_internal_token(key, "transactions", "gateway", "c1")
        assert client.get("/api/v1/things", headers=bearer(token)).status_code == 200
    stranger = mint_internal_token(generate_signing_key(), "transactions", "gateway", "c1")
    assert client.get("/api/v1/things", headers=bearer(stranger)).status_code == 401


def test_a_token_living_longer_than_the_ttl_is_refused():
    client = transactions_app(INTERNAL_TOKEN_TTL_SECONDS=30).test_client()
    assert client.get("/api/v1/things", headers=as_("gateway", ttl_seconds=30)).status_code == 200
    long_lived = client.get("/api/v1/things", headers=as_("gateway", ttl_seconds=3600))
    assert long_lived.status_code == 401 and "TTL" in long_lived.get_json()["detail"]


def _lifetime(headers):
    token = headers["Authorization"].split()[1]
    decoded = jwt.decode(token, options={"verify_signature": False})
    return decoded["exp"] - decoded["iat"], jwt.get_unverified_header(token)


def test_clients_mint_with_the_configured_ttl_and_their_own_key(monkeypatch):
    client = ServiceClient("http://127.0.0.1:1", audience="transactions", caller="accounts", secret=KEYS["accounts"])
    app = Flask("ttl")
    app.config["INTERNAL_TOKEN_TTL_SECONDS"] = 17
    with app.app_context():
        lifetime, header = _lifetime(client.headers_for())
    assert lifetime == 17 and header == {"alg": "EdDSA", "kid": "accounts", "typ": "JWT"}
    monkeypatch.setenv("INTERNAL_TOKEN_TTL_SECONDS", "23")  # outside an app: a CLI's environment
    assert _lifetime(client.headers_for())[0] == 23
    explicit = ServiceClient("http://127.0.0.1:1", audience="x", caller="gateway", secret=KEYS["gateway"],
                             ttl_seconds=9)
    assert _lifetime(explicit.headers_for())[0] == 9
    principal = verify_internal_token(explicit.headers_for("c9")["Authorization"].split()[1], None, "x", TRUSTED)
    assert (principal.caller, principal.subject) == ("gateway", "c9")


def test_the_gateway_forwards_with_its_own_key_and_ttl():
    from gateway.tests.conftest import gateway_for
    app = gateway_for(accounts="http://127.0.0.1:1", INTERNAL_TOKEN_SECRET=KEYS["gateway"],
                      INTERNAL_TOKEN_TTL_SECONDS=11)
    lifetime, header = _lifetime(app.extensions["upstreams"]["accounts"].client.headers_for("c1"))
    assert lifetime == 11 and header["kid"] == "gateway" and header["alg"] == "EdDSA"


def test_key_settings_are_checked_at_start():
    assert parse_signing_secret(KEYS["gateway"]) == KEYS["gateway"]
    for bad in ("ed25519:short", "ed25519:!!!!", "too-short-shared-secret"):
        with pytest.raises(ValueError):
            parse_signing_secret(bad)
    assert parse_trusted_keys(TRUSTED)["accounts"] == (public_key_of(KEYS["accounts"]),)
    for bad in ("gateway", "gateway:", "gateway:abc", ":" + public_key_of(KEYS["gateway"])):
        with pytest.raises(ValueError):
            parse_trusted_keys(bad)


def test_verify_raises_a_401_problem():
    with pytest.raises(Problem) as caught:
        verify_internal_token("not.a.token", None, "transactions", TRUSTED)
    assert caught.value.status == 401


def test_clients_reuse_a_token_for_two_thirds_of_its_life(monkeypatch):
    client = ServiceClient("http://127.0.0.1:1", audience="x", caller="gateway", secret=KEYS["gateway"],
                           ttl_seconds=30)
    first = client.headers_for("c1", ("customer",))["Authorization"]
    assert client.headers_for("c1", ("customer",))["Authorization"] == first
    assert client.headers_for("c1", ("customer", "admin"))["Authorization"] != first  # other roles
    assert client.headers_for("c2", ("customer",))["Authorization"] != first  # other customer
    later = time.monotonic() + 21  # past two thirds of 30 s: a fresh token
    monkeypatch.setattr("services.common.http_client.time.monotonic", lambda: later)
    assert client.headers_for("c1", ("customer",))["Authorization"] != first


def test_a_verified_token_is_remembered_only_until_it_expires(monkeypatch):
    from services.common.service_auth import Principal, VerifiedTokens
    remembered = VerifiedTokens()
    token = mint_internal_token(KEYS["gateway"], "x", "gateway", "c1", ttl_seconds=10)
    principal = Principal("c1", (), "gateway")
    remembered.put(token, principal)
    assert remembered.get(token) == principal
    assert remembered.get(token + "x") is None
    later = time.time() + 11
    monkeypatch.setattr("services.common.service_auth.time.time", lambda: later)
    assert remembered.get(token) is None
