"""The suite's processes sign with keys of their own (devstack/stack.py): a shared-secret token
is refused by every service, and a service's key does not open another service's routes."""
import uuid

import pytest
import requests

from services.common.service_auth import development_signing_key, generate_signing_key, mint_internal_token
from tests.support.tokens import TEST_SECRET

pytestmark = pytest.mark.e2e


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def event():
    return {"id": str(uuid.uuid4()), "type": "test.ping", "source": "accounts",
            "occurred_at": "2026-12-01T00:00:00Z", "data": {}}


@pytest.mark.parametrize("service", ["accounts", "transactions", "preferences"])
def test_a_shared_secret_or_a_stranger_key_is_401_at_every_service(suite, service):
    url = suite.url(service) + "/internal/events"
    for token in (mint_internal_token(TEST_SECRET, service, "accounts"),
                  mint_internal_token(generate_signing_key(), service, "accounts"),
                  mint_internal_token(development_signing_key("preferences"), service, "accounts")):
        response = requests.post(url, json=event(), headers=bearer(token), timeout=10)
        assert response.status_code == 401, (service, response.text)


def test_each_service_key_opens_only_its_own_routes(suite):
    transactions = suite.url("transactions")
    as_preferences = bearer(mint_internal_token(development_signing_key("preferences"), "transactions",
                                                "preferences"))
    as_gateway = bearer(mint_internal_token(development_signing_key("gateway"), "transactions", "gateway"))
    as_accounts = bearer(mint_internal_token(development_signing_key("accounts"), "transactions", "accounts"))
    # Events and ledger calls come from the accounts service only.
    for headers in (as_preferences, as_gateway):
        assert requests.post(transactions + "/internal/events", json=event(), headers=headers,
                             timeout=10).status_code == 403
        assert requests.get(transactions + "/internal/ledger-accounts?ids=x", headers=headers,
                            timeout=10).status_code == 403
    assert requests.get(transactions + "/internal/ledger-accounts?ids=x", headers=as_accounts,
                        timeout=10).status_code == 200
    # Customer routes come from the gateway only.
    assert requests.get(transactions + "/api/v1/currencies", headers=as_accounts, timeout=10).status_code == 403
    assert requests.get(transactions + "/api/v1/currencies", headers=as_gateway, timeout=10).status_code == 200
    # The credential endpoints answer the gateway only.
    as_transactions = bearer(mint_internal_token(development_signing_key("transactions"), "accounts",
                                                 "transactions"))
    refused = requests.post(suite.url("accounts") + "/internal/auth/login", headers=as_transactions, timeout=10,
                            json={"email": "a@example.com", "password": "x" * 12})
    assert refused.status_code == 403
