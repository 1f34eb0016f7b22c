"""Accounts fixtures: the app with test PII keys and a stand-in ledger served over HTTP."""
from __future__ import annotations

from decimal import Decimal

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
    """The ledger's internal endpoints as the accounts service uses them.

    GET /internal/ledger-accounts answers whatever a test puts in `accounts`. The PUTs
    (interface 2) record every snapshot in `puts` and follow the ledger's rules that matter
    here: closing is 409 account_not_empty unless balance and holds are zero, a closed
    account stays closed. `refuse_with` makes every PUT answer that status (500, 403...).
    """

    def __init__(self):
        self.accounts: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.callers: list[str] = []
        self.puts: list[tuple[str, dict]] = []
        self.refuse_with: int | None = None
        self.app = Flask("stand-in-ledger")
        self.app.get("/internal/ledger-accounts")(self._ledger_accounts)
        self.app.put("/internal/ledger-accounts/<account_id>")(self._put_account)
        self.app.put("/internal/ledger-customers/<customer_id>")(self._put_customer)

    def _caller(self) -> None:
        token = request.headers["Authorization"].split()[1]
        self.callers.append(verify_internal_token(token, TEST_SECRET, "transactions").caller)

    def _ledger_accounts(self):
        self._caller()
        ids = request.args.get("ids", "").split(",")
        return jsonify(items=[{"account_id": i, **self.accounts[i]} for i in ids if i in self.accounts])

    def _put_account(self, account_id: str):
        self._caller()
        snapshot = request.get_json()
        self.puts.append((account_id, snapshot))
        if self.refuse_with:
            return jsonify(code="boom"), self.refuse_with
        known = self.accounts.setdefault(account_id, {"currency": snapshot["currency"], "balance": "0.00",
                                                      "available_balance": "0.00", "held": "0.00",
                                                      "status": "active", "version": 0})
        if snapshot["version"] < known.get("version", 0):
            return jsonify(account_id=account_id, **known)
        if known["status"] == "closed" and snapshot["status"] != "closed":
            return _problem("account_closed")
        if snapshot["status"] == "closed" and (Decimal(known["balance"]) != 0 or Decimal(known["held"]) != 0):
            return _problem("account_not_empty", balance=known["balance"])
        known.update(status=snapshot["status"], overdraft_limit=snapshot["overdraft_limit"],
                     version=snapshot["version"])
        return jsonify(account_id=account_id, **known)

    def _put_customer(self, customer_id: str):
        self._caller()
        body = request.get_json()
        self.puts.append((customer_id, body))
        if self.refuse_with:
            return jsonify(code="boom"), self.refuse_with
        self.customers[customer_id] = body
        return jsonify(customer_id=customer_id, **body)

    def set_balance(self, account_id: str, balance: str, held: str = "0.00") -> None:
        self.accounts[account_id] = {"currency": "EUR", "status": "active", "balance": balance,
                                     "available_balance": balance, "held": held, "overdraft_limit": "0.00"}


def _problem(code: str, **extra):
    body = {"type": f"https://errors.finovabank.example/{code}", "title": code, "status": 409,
            "detail": code, "code": code, **extra}
    return jsonify(body), 409, {"Content-Type": "application/problem+json"}


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
