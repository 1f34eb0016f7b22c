"""Accounts fixtures: the app with test PII keys and a stand-in ledger served over HTTP."""
from __future__ import annotations

import pytest
from flask import Flask, jsonify, request

from conftest import service_config
from devstack.stack import free_port
from services.common.service_auth import verify_internal_token
from tests.support.servers import serving
from tests.support.tokens import TEST_SECRET

TEST_PII_KEYS = "t1:dGVzdC1waWkta2V5LW9uZS0wMTIzNDU2Nzg5YWJjZGU="
NEW_PII_KEY = "t2:dGVzdC1waWkta2V5LXR3by0wMTIzNDU2Nzg5YWJjZGU="


class StandInLedger:
    """The ledger's GET /internal/ledger-accounts, answering whatever a test puts in `accounts`."""

    def __init__(self):
        self.accounts: dict[str, dict] = {}
        self.callers: list[str] = []
        self.app = Flask("stand-in-ledger")
        self.app.get("/internal/ledger-accounts")(self._ledger_accounts)

    def _ledger_accounts(self):
        token = request.headers["Authorization"].split()[1]
        self.callers.append(verify_internal_token(token, TEST_SECRET, "transactions").caller)
        ids = request.args.get("ids", "").split(",")
        return jsonify(items=[{"account_id": i, **self.accounts[i]} for i in ids if i in self.accounts])

    def set_balance(self, account_id: str, balance: str, held: str = "0.00") -> None:
        self.accounts[account_id] = {"currency": "EUR", "status": "active", "balance": balance,
                                     "available_balance": balance, "held": held, "overdraft_limit": "0.00"}


@pytest.fixture
def ledger():
    stand_in = StandInLedger()
    with serving(stand_in.app) as server:
        stand_in.url = server.url
        yield stand_in


def make_accounts_app(accounts_db, transactions_url: str, **overrides):
    from services.accounts.app import create_app
    settings = {"DATABASE_URL": accounts_db.app_url, "PII_ENCRYPTION_KEYS": TEST_PII_KEYS,
                "TRANSACTIONS_URL": transactions_url, "LEDGER_READ_TIMEOUT": 1.0, **overrides}
    return create_app(service_config(**settings))


@pytest.fixture
def accounts_app(accounts_db, ledger):
    """The accounts app (overriding the root fixture) with PII keys and the stand-in ledger."""
    return make_accounts_app(accounts_db, ledger.url)


@pytest.fixture
def client(accounts_app):
    return accounts_app.test_client()


@pytest.fixture
def ledger_down_client(accounts_db):
    return make_accounts_app(accounts_db, f"http://127.0.0.1:{free_port()}").test_client()
