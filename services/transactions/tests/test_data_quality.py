"""The data-quality report on the real ledger: a clean one passes every check; a seeded
inconsistency of each dimension fails its check; the endpoint answers from the last run
with its age; the command records a run; customers may not read it. The accounts service's
list is given here as pages (tests/e2e compares against the real service)."""
import uuid

import pytest
from sqlalchemy import text

from services.transactions.domain.ledger.quality import DIMENSIONS
from services.transactions.tests.factories import admin_headers, customer_headers
from services.transactions.tests.test_ledger_check import busy, check_now, tamper  # noqa: F401 - fixture


class AccountsPages:
    """The accounts service's internal account list, as ServiceClient pages would give it."""

    def __init__(self, accounts):
        self.accounts = accounts

    def get(self, path, params=None, **_):
        assert path == "/internal/accounts"
        return _Response({"items": self.accounts, "next_after": None})


class _Response:
    status_code = 200

    def __init__(self, body):
        self._body = body

    def json(self):
        return self._body


@pytest.fixture
def accounts_listed(transactions_app, busy):  # noqa: F811 - the fixture imported above
    listed = [{"id": busy["alice"], "customer_id": "alice", "status": "active"},
              {"id": busy["bob"], "customer_id": "bob", "status": "active"}]
    before = transactions_app.extensions["accounts"]
    transactions_app.extensions["accounts"] = AccountsPages(listed)
    yield listed
    transactions_app.extensions["accounts"] = before


def report(client):
    response = client.get("/api/v1/admin/data-quality?run=now", headers=admin_headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def failing(body):
    return {(check["dimension"], check["name"]) for check in body["checks"] if check["status"] == "fail"}


def test_a_clean_ledger_passes_every_dimension(client, accounts_listed):
    check_now(client)  # the integrity check has run (timeliness looks at its age)
    body = report(client)
    assert failing(body) == set() and body["ok"]
    assert {check["dimension"] for check in body["checks"]} == set(DIMENSIONS)
    assert body["age_seconds"] == 0


@pytest.mark.parametrize("dimension, name, seed", [
    ("accuracy", "balance_differs_from_postings",
     lambda engines, busy: tamper(engines, "UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :id",
                                  id=busy["bob"])),
    ("consistency", "entry_header_differs",
     lambda engines, busy: tamper(engines, "UPDATE journal_entries SET amount = amount + 1 WHERE id = :id",
                                  id=busy["sent"])),
    ("validity", "amount_beyond_bounds",
     lambda engines, busy: tamper(engines, "UPDATE journal_entries SET amount = 10^15 WHERE id = :id",
                                  id=busy["sent"])),
    ("uniqueness", "transfer_under_two_keys",
     lambda engines, busy: _sql(engines, "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, "
                                         "response_body, resource_id) VALUES ('customer:alice', 'again', 'x', 201, "
                                         "'{}', :id)", id=busy["sent"])),
    ("timeliness", "outbox_lag",
     lambda engines, busy: _sql(engines, "INSERT INTO outbox_events (event_id, event_type, destination, payload, "
                                         "created_at) VALUES (:id, 'transfer.posted', 'preferences', '{}', "
                                         "now() - interval '10 minutes')", id=uuid.uuid4())),
    ("timeliness", "outbox_dead_letters",
     lambda engines, busy: _sql(engines, "INSERT INTO outbox_events (event_id, event_type, destination, payload, "
                                         "dead_lettered_at) VALUES (:id, 'transfer.posted', 'preferences', '{}', "
                                         "now())", id=uuid.uuid4())),
])
def test_a_seeded_inconsistency_fails_its_check(client, accounts_listed, busy, owner_engines,  # noqa: F811
                                                dimension, name, seed):
    check_now(client)
    seed(owner_engines["transactions"], busy)
    body = report(client)
    assert (dimension, name) in failing(body) and not body["ok"]
    found = next(check for check in body["checks"] if check["name"] == name)
    assert found["count"] >= 1 and found["detail"]


def _sql(engine, statement, **params):
    with engine.begin() as connection:
        connection.execute(text(statement), params)


def test_completeness_compares_with_the_accounts_service_both_ways(client, accounts_listed, busy):  # noqa: F811
    accounts_listed.append({"id": "acc-opened-elsewhere", "customer_id": "carol", "status": "active"})
    accounts_listed.append({"id": "acc-closed-long-ago", "customer_id": "carol", "status": "closed"})
    accounts_listed[:] = [item for item in accounts_listed if item["id"] != busy["bob"]]
    body = report(client)
    checks = {check["name"]: check for check in body["checks"]}
    assert checks["ledger_account_missing"]["count"] == 1                      # the closed one is not missing
    assert "acc-opened-elsewhere" in checks["ledger_account_missing"]["detail"]
    assert checks["account_unknown_to_accounts_service"]["count"] == 1
    assert checks["account_unknown_to_accounts_service"]["dimension"] == "completeness"


def test_status_differences_are_an_inconsistency(client, accounts_listed):
    accounts_listed[0]["status"] = "frozen"
    assert ("consistency", "account_status_differs") in failing(report(client))


def test_the_endpoint_answers_from_the_last_run_with_its_age(client, accounts_listed, owner_engines):
    first = report(client)
    with owner_engines["transactions"].begin() as connection:
        connection.execute(text("UPDATE data_quality_runs SET generated_at = generated_at - interval '1 hour'"))
    shown = client.get("/api/v1/admin/data-quality", headers=admin_headers()).get_json()
    assert shown["checks"] == first["checks"] and shown["age_seconds"] >= 3600


def test_an_unreachable_accounts_service_is_a_finding_not_a_crash(client, transactions_app, busy):  # noqa: F811
    body = report(client)   # the test app's ACCOUNTS_URL has nothing listening
    compared = next(check for check in body["checks"] if check["name"] == "accounts_compared")
    assert compared["status"] == "fail" and "did not answer" in compared["detail"]


def test_customers_may_not_read_it(client):
    assert client.get("/api/v1/admin/data-quality", headers=customer_headers("alice")).status_code == 403


def test_a_bad_query_is_a_422(client):
    assert client.get("/api/v1/admin/data-quality?run=later", headers=admin_headers()).status_code == 422


def test_the_command_records_a_run(client, busy, transactions_db, owner_engines, monkeypatch):  # noqa: F811
    from services.transactions import cli
    monkeypatch.setenv("DATABASE_URL", transactions_db.app_url)
    monkeypatch.setenv("ACCOUNTS_URL", "http://127.0.0.1:9")   # nothing there: completeness fails, exit 1
    assert cli.main(["data-quality"]) == 1
    with owner_engines["transactions"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM data_quality_runs")).scalar_one() == 1
