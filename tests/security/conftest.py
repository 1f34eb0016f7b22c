"""Fixtures of the hostile-input suite: the running suite (four gunicorn processes), an admin,
two customers with money and history, and a raw HTTP client that sends the request target
byte for byte (requests and urllib normalise `..` and percent-encoding away)."""
from __future__ import annotations

import http.client
import json
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from devstack.stack import ensure_admin
from tests.support.clients import PASSWORD, eventually, sign_up

PROBLEM = "application/problem+json"


def pytest_configure(config):
    config.addinivalue_line("markers", "security: hostile input against the running suite (tests/security)")
    config.addinivalue_line("markers", "fuzz: schemathesis over the gateway's merged OpenAPI (FUZZ_EXAMPLES scales it)")


class FuzzTally:
    """What the fuzzer sent and what came back: the figure `make fuzz` reports."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cases: Counter = Counter()
        self.statuses: Counter = Counter()
        self.by_operation: Counter = Counter()
        self.server_errors: dict[tuple, dict] = {}
        self.not_problems: dict[tuple, dict] = {}

    def record(self, role: str, case, response, log_dir=None) -> None:
        status = response.status_code
        with self.lock:
            self.cases[role] += 1
            self.statuses[status] += 1
            self.by_operation[(f"{case.method.upper()} {case.path}", status)] += 1
            if status < 400:
                return
            content_type = (response.headers.get("content-type") or [""])[0]
            target = self.server_errors if status >= 500 else (
                None if content_type.startswith(PROBLEM) else self.not_problems)
            if target is None:
                return
            seen = (role, case.method.upper(), case.path, status)
            entry = target.setdefault(seen, {
                "role": role, "method": case.method.upper(), "operation": case.path, "status": status,
                "path": case.formatted_path, "query": _shown(case.query), "headers": _shown(_shown_headers(case.headers)),
                "body": _shown(case.body), "response": response.content[:400].decode(errors="replace"),
                "count": 0})
            entry["count"] += 1
            if status >= 500 and log_dir is not None and "server_log" not in entry:
                entry["server_log"] = _server_errors(log_dir, (response.headers.get("x-request-id") or [""])[0])

    def summary(self) -> dict:
        return {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "examples_per_operation": int(os.environ.get("FUZZ_EXAMPLES", "30")),
                "cases": sum(self.cases.values()), "cases_by_role": dict(self.cases),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "by_operation": {f"{op} -> {status}": n for (op, status), n in sorted(self.by_operation.items())},
                "server_errors": sum(e["count"] for e in self.server_errors.values()),
                "server_error_requests": list(self.server_errors.values()),
                "errors_not_problem_json": list(self.not_problems.values())}


def _server_errors(log_dir, request_id: str) -> list[str]:
    """The services' ERROR log lines of one request (its X-Request-ID), traceback tails included."""
    found = []
    for log in sorted(log_dir.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if request_id and request_id in line and '"ERROR"' in line:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                found.append(f"{log.stem}: {record.get('message')}: {(record.get('exc_info') or '')[-1500:]}")
    return found


def _shown(value):
    if value is None or type(value).__name__ == "NotSet":
        return None
    text = json.dumps(value, default=repr, ensure_ascii=True)
    return text if text is None or len(text) <= 400 else text[:400] + "..."


def _shown_headers(headers):
    return {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}


FUZZ_TALLY = FuzzTally()


def pytest_terminal_summary(terminalreporter):
    if not FUZZ_TALLY.cases:
        return
    summary = FUZZ_TALLY.summary()
    terminalreporter.write_sep("-", "fuzz (schemathesis) figures")
    terminalreporter.write_line(
        f"fuzz: {summary['cases']} cases {summary['cases_by_role']}, {summary['server_errors']} server errors, "
        f"{len(summary['errors_not_problem_json'])} kinds of error that are not problem+json; statuses "
        f"{summary['statuses']}")
    for entry in summary["server_error_requests"] + summary["errors_not_problem_json"]:
        terminalreporter.write_line(
            f"  {entry['status']} x{entry['count']} as {entry['role']}: {entry['method']} {entry['path']} "
            f"query={entry['query']} body={entry['body']} -> {entry['response'][:200]!r}")
        for line in entry.get("server_log", []):
            terminalreporter.write_line("    " + line.replace("\n", "\n    "))
    if os.environ.get("FUZZ_REPORT"):
        with open(os.environ["FUZZ_REPORT"], "w") as out:
            json.dump(summary, out, indent=1)


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def send_raw(base_url: str, method: str, target: str, body: bytes | str | None = None,
             headers: dict[str, str] | None = None, chunked: bool = False, timeout: float = 30) -> Raw:
    """One request with `target` exactly as given: no normalisation, no re-encoding."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        connection.putrequest(method, target, skip_accept_encoding=True)
        sent = {"Content-Type": "application/json", **(headers or {})} if body is not None else dict(headers or {})
        if chunked:
            sent["Transfer-Encoding"] = "chunked"
        elif body is not None:
            sent["Content-Length"] = str(len(body))
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders()
        if body is not None:
            if chunked:
                step = 64 * 1024
                for start in range(0, len(body), step):
                    piece = body[start:start + step]
                    connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                connection.send(b"0\r\n\r\n")
            else:
                connection.send(body)
        response = connection.getresponse()
        return Raw(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """A problem+json answer with this status (and code): its body."""
    if isinstance(response, Raw):
        actual, content_type, text = response.status, response.headers.get("content-type", ""), response.body[:600]
        body = response.json() if content_type.startswith(PROBLEM) else None
    else:
        actual, content_type, text = response.status_code, response.headers.get("Content-Type", ""), response.text[:600]
        body = response.json() if content_type.startswith(PROBLEM) else None
    assert actual == status, f"expected {status} {code or ''}, got {actual}: {text!r}"
    assert content_type.startswith(PROBLEM), f"not problem+json ({content_type!r}): {text!r}"
    assert isinstance(body, dict) and isinstance(body.get("code"), str), text
    if code is not None:
        assert body["code"] == code, f"expected code {code}, got {body['code']}: {text!r}"
    return body


@dataclass
class Customer:
    gateway: str
    id: str
    email: str
    token: str
    account: str = ""
    second_account: str = ""
    transfer: str = ""
    notification: str = ""
    password: str = PASSWORD
    issued_at: float = field(default_factory=time.monotonic)
    fuzz_ids: dict = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.fresh_token()}"}

    def fresh_token(self) -> str:
        """The access token, renewed by a new login once it is ten minutes old (it lives 15)."""
        if time.monotonic() - self.issued_at > 600:
            login = requests.post(self.gateway + "/api/v1/auth/login", timeout=30,
                                  json={"email": self.email, "password": self.password})
            assert login.status_code == 200, login.text
            self.token, self.issued_at = login.json()["access_token"], time.monotonic()
        return self.token

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return requests.request(method, self.gateway + path, headers=headers, timeout=30, **kwargs)


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture(scope="session")
def gateway(suite) -> str:
    return suite.url("gateway")


@pytest.fixture(scope="session")
def admin(gateway, suite_databases) -> Customer:
    email, password = ensure_admin(suite_databases, log=lambda _m: None)
    login = requests.post(gateway + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    me = requests.get(gateway + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 200, me.text
    return Customer(gateway, me.json()["id"], email, token, password=password)


def new_customer(gateway: str, name: str) -> Customer:
    signed = sign_up(gateway, name)
    return Customer(gateway, signed["id"], signed["email"], signed["token"])


def open_account(customer: Customer, currency: str = "EUR") -> str:
    opened = customer.call("POST", "/api/v1/accounts", json={"type": "checking", "currency": currency})
    assert opened.status_code == 201, opened.text
    account = opened.json()["id"]
    # The ledger hears of a new account through the outbox.
    heard = eventually(lambda: customer.call("GET", f"/api/v1/accounts/{account}/transactions").status_code == 200,
                       timeout=30)
    assert heard, f"the ledger never heard of account {account}"
    return account


def deposit(admin: Customer, account: str, amount: str) -> None:
    response = admin.call("POST", "/api/v1/admin/deposits", headers=key(),
                          json={"account_id": account, "amount": amount, "currency": "EUR"})
    assert response.status_code == 201, response.text


@pytest.fixture(scope="session")
def owner(gateway, admin) -> Customer:
    """Ada: two accounts, 100.00 deposited, 10.00 moved between them, a notification."""
    ada = new_customer(gateway, "ada")
    ada.account, ada.second_account = open_account(ada), open_account(ada)
    deposit(admin, ada.account, "100.00")
    moved = ada.call("POST", "/api/v1/transfers", headers=key(),
                     json={"from_account_id": ada.account, "to_account_id": ada.second_account,
                           "amount": "10.00", "currency": "EUR", "description": "savings"})
    assert moved.status_code == 201, moved.text
    ada.transfer = moved.json()["id"]

    def first_notification():
        items = ada.call("GET", "/api/v1/notifications").json().get("items") or []
        return items[0]["id"] if items else None

    ada.notification = eventually(first_notification, timeout=30) or ""
    return ada


@pytest.fixture(scope="session")
def intruder(gateway) -> Customer:
    """Bob: a customer with an account of his own and no part in Ada's."""
    bob = new_customer(gateway, "bob")
    bob.account = open_account(bob)
    return bob


@pytest.fixture(scope="session")
def fuzz_customer(gateway, admin) -> Customer:
    """The fuzzer's own customer (so it cannot disturb the other tests' people), with an
    account, a transfer and a notification it may aim at; the admin aims at the same ones."""
    fuzz = new_customer(gateway, "fuzz")
    fuzz.account, fuzz.second_account = open_account(fuzz), open_account(fuzz)
    deposit(admin, fuzz.account, "1000.00")
    moved = fuzz.call("POST", "/api/v1/transfers", headers=key(),
                      json={"from_account_id": fuzz.account, "to_account_id": fuzz.second_account,
                            "amount": "1.00", "currency": "EUR"})
    assert moved.status_code == 201, moved.text
    items = eventually(lambda: fuzz.call("GET", "/api/v1/notifications").json().get("items"), timeout=30) or []
    fuzz.fuzz_ids = {"customer_id": fuzz.id, "account_id": fuzz.account, "from_account_id": fuzz.account,
                     "to_account_id": fuzz.second_account, "transfer_id": moved.json()["id"],
                     **({"notification_id": items[0]["id"]} if items else {})}
    admin.fuzz_ids = dict(fuzz.fuzz_ids)
    return fuzz
