"""POST /internal/events with {"events": [...]}: each event on its own, a result for each."""
import uuid

import pytest
from sqlalchemy import text

from services.common.errors import Problem
from services.common.outbox import RejectEvent, RetryLater
from tests.support.tokens import FreshAuthHeader, auth_header

FROM_ACCOUNTS = FreshAuthHeader("transactions", caller="accounts")


def envelope(event_type, data=None, event_id=None):
    return {"id": event_id or str(uuid.uuid4()), "type": event_type, "source": "accounts",
            "occurred_at": "2026-12-01T00:00:00+00:00", "data": data or {}}


@pytest.fixture
def handlers(monkeypatch):
    """Test event types on the ledger's receiver; `wrote` writes a row, then fails as told."""
    from services.transactions import events

    def failing_after_a_write(error):
        def handler(session, data):
            session.execute(text("INSERT INTO processed_events (event_id, event_type, source) "
                                 "VALUES (:id, 'side-effect', 'test')"), {"id": data["marker"]})
            raise error
        return handler

    for name, handler in {
        "test.retry": failing_after_a_write(RetryLater("account not known yet")),
        "test.reject": failing_after_a_write(RejectEvent("never applies")),
        "test.problem": failing_after_a_write(Problem(422, "validation_error", "bad data")),
        "test.bug": failing_after_a_write(RuntimeError("a handler bug")),
    }.items():
        monkeypatch.setitem(events.HANDLERS, name, handler)


def processed_ids(engine):
    with engine.connect() as connection:
        return {str(r[0]) for r in connection.execute(text("SELECT event_id FROM processed_events"))}


def test_each_event_of_a_batch_is_applied_or_not_on_its_own(transactions_app, owner_engines, handlers):
    ok, again = envelope("test.ok"), envelope("test.ok")
    failing = {kind: envelope(f"test.{kind}", {"marker": str(uuid.uuid4())})
               for kind in ("retry", "reject", "problem", "bug")}
    batch = [ok, failing["retry"], again, failing["reject"], dict(ok), failing["problem"],
             failing["bug"], {"id": "not-a-uuid", "type": "x"}, "not an object"]
    response = transactions_app.test_client().post("/internal/events", json={"events": batch},
                                                   headers=FROM_ACCOUNTS)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [(r["id"], r["status"]) for r in results] == [
        (ok["id"], "processed"), (failing["retry"]["id"], "retry"), (again["id"], "processed"),
        (failing["reject"]["id"], "rejected"), (ok["id"], "duplicate"),
        (failing["problem"]["id"], "rejected"), (failing["bug"]["id"], "retry"),
        ("not-a-uuid", "rejected"), (None, "rejected")]
    assert results[1]["detail"] == "account not known yet" and results[3]["detail"] == "never applies"
    assert results[5]["detail"] == "validation_error: bad data" and "id" in results[7]["detail"]
    # Only the applied events are recorded; what a failing handler wrote was rolled back.
    assert processed_ids(owner_engines["transactions"]) == {ok["id"], again["id"]}


def test_a_single_envelope_still_works_and_says_why_it_was_not_applied(transactions_app, handlers):
    client = transactions_app.test_client()
    ok = envelope("test.ok")
    assert client.post("/internal/events", json=ok, headers=FROM_ACCOUNTS).get_json() == {
        "status": "processed", "id": ok["id"]}
    assert client.post("/internal/events", json=ok, headers=FROM_ACCOUNTS).get_json()["status"] == "duplicate"
    later = client.post("/internal/events", json=envelope("test.retry", {"marker": str(uuid.uuid4())}),
                        headers=FROM_ACCOUNTS)
    assert later.status_code == 409 and later.get_json()["code"] == "retry_later"
    never = client.post("/internal/events", json=envelope("test.reject", {"marker": str(uuid.uuid4())}),
                        headers=FROM_ACCOUNTS)
    assert never.status_code == 422 and never.get_json()["code"] == "event_rejected"


@pytest.mark.parametrize("body", [{"events": []}, {"events": "nope"}, {"events": [{}], "extra": 1},
                                  {"events": [envelope("test.ok") for _ in range(501)]}])
def test_a_malformed_batch_is_422_and_applies_nothing(transactions_app, owner_engines, body):
    response = transactions_app.test_client().post("/internal/events", json=body, headers=FROM_ACCOUNTS)
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"
    assert processed_ids(owner_engines["transactions"]) == set()


def test_the_preferences_service_takes_batches_too(preferences_app, mongo_db):
    opened = envelope("account.opened", {"account_id": "acc-9", "customer_id": "cust-9",
                                         "type": "checking", "currency": "EUR"})
    response = preferences_app.test_client().post(
        "/internal/events", json={"events": [opened, opened, {"id": 7}]},
        headers=auth_header("preferences", caller="accounts"))
    assert response.status_code == 200
    assert [r["status"] for r in response.get_json()["results"]] == ["processed", "duplicate", "rejected"]
    assert mongo_db.processed_events.count_documents({"event_id": opened["id"]}) == 1
