"""GET/POST /api/v1/admin/outbox/dead-letters: every service's dead letters, for admins only."""
import uuid

from sqlalchemy import text

from services.common.outbox import publish
from services.common.sql import session_scope
from tests.support.servers import serving

from .conftest import bearer

ADMIN = bearer("a0000000-0000-4000-8000-0000000000ad", roles=("customer", "admin"))
CUSTOMER = bearer()


def dead_letter(app, owner_engine, event_type):
    app.extensions["outbox"].routes = {event_type: ("preferences",)}
    with session_scope(app.extensions["sql_sessions"]) as session:
        event_id = app.extensions["outbox"].publish(session, event_type, {"n": 1})
    with owner_engine.begin() as connection:
        connection.execute(text("UPDATE outbox_events SET dead_lettered_at = now(), attempts = 20, "
                                "last_error = 'rejected: no' WHERE event_id = :id"), {"id": event_id})
    return str(event_id)


def test_admins_see_every_services_dead_letters_and_replay_one(
        make_gateway, accounts_app, transactions_app, owner_engines):
    from_accounts = dead_letter(accounts_app, owner_engines["accounts"], "test.from_accounts")
    from_ledger = dead_letter(transactions_app, owner_engines["transactions"], "test.from_ledger")
    with serving(accounts_app) as accounts, serving(transactions_app) as transactions:
        client = make_gateway(accounts=accounts.url, transactions=transactions.url,
                              preferences="http://127.0.0.1:9").test_client()
        listed = client.get("/api/v1/admin/outbox/dead-letters", headers=ADMIN)
        assert listed.status_code == 200, listed.get_json()
        items = listed.get_json()["items"]
        assert sorted((i["service"], i["event_id"], i["event_type"], i["destination"], i["attempts"],
                       i["last_error"]) for i in items) == [
            ("accounts", from_accounts, "test.from_accounts", "preferences", 20, "rejected: no"),
            ("transactions", from_ledger, "test.from_ledger", "preferences", 20, "rejected: no")]
        assert all(i["created_at"] for i in items) and listed.get_json()["degraded"] == []

        replayed = client.post(f"/api/v1/admin/outbox/dead-letters/{from_ledger}/replay", headers=ADMIN)
        assert replayed.status_code == 200 and replayed.get_json() == {
            "service": "transactions", "event_id": from_ledger, "replayed": 1}
        assert [i["event_id"] for i in client.get("/api/v1/admin/outbox/dead-letters",
                                                  headers=ADMIN).get_json()["items"]] == [from_accounts]
        for missing in (from_ledger, str(uuid.uuid4()), "nope"):
            answer = client.post(f"/api/v1/admin/outbox/dead-letters/{missing}/replay", headers=ADMIN)
            assert answer.status_code == 404 and answer.get_json()["code"] == "not_found"

        for method, path in (("GET", "/api/v1/admin/outbox/dead-letters"),
                             ("POST", f"/api/v1/admin/outbox/dead-letters/{from_accounts}/replay")):
            forbidden = client.open(path, method=method, headers=CUSTOMER)
            assert forbidden.status_code == 403 and forbidden.get_json()["code"] == "forbidden"
            assert client.open(path, method=method).status_code == 401
    with owner_engines["accounts"].connect() as connection:  # the customer's replay changed nothing
        assert connection.execute(text("SELECT dead_lettered_at IS NOT NULL FROM outbox_events")).scalar_one()


def test_a_service_that_cannot_answer_is_named(make_gateway, accounts_app, owner_engines):
    from_accounts = dead_letter(accounts_app, owner_engines["accounts"], "test.from_accounts")
    with serving(accounts_app) as accounts:
        client = make_gateway(accounts=accounts.url, transactions="http://127.0.0.1:9",
                              preferences="http://127.0.0.1:9").test_client()
        listed = client.get("/api/v1/admin/outbox/dead-letters", headers=ADMIN).get_json()
        assert [i["event_id"] for i in listed["items"]] == [from_accounts]
        assert listed["degraded"] == ["transactions"]
        # Not at accounts, and the ledger could not be asked: maybe it is there.
        answer = client.post(f"/api/v1/admin/outbox/dead-letters/{uuid.uuid4()}/replay", headers=ADMIN)
        assert answer.status_code == 503 and answer.get_json()["degraded"] == ["transactions"]
