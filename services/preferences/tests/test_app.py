import uuid

from tests.support.tokens import auth_header


def test_defaults_are_served_with_a_token_only(preferences_app):
    client = preferences_app.test_client()
    assert client.get("/api/v1/preferences/defaults").status_code == 401
    response = client.get("/api/v1/preferences/defaults", headers=auth_header("preferences"))
    assert response.status_code == 200 and response.get_json()["language"] == "en"


def test_readyz_pings_mongodb(preferences_app):
    response = preferences_app.test_client().get("/readyz")
    assert response.status_code == 200 and response.get_json()["checks"] == {"mongodb": "ok"}


def test_readyz_is_503_when_mongodb_is_down():
    from conftest import service_config
    from devstack.stack import free_port
    from services.preferences.app import create_app
    app = create_app(service_config(MONGO_URL=f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=300"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["mongodb"]


def test_an_event_is_recorded_once_on_the_real_server(preferences_app, mongo_db):
    envelope = {"id": str(uuid.uuid4()), "type": "transfer.posted", "source": "transactions",
                "occurred_at": "2026-11-25T00:00:00+00:00", "data": {"transfer_id": "t1"}}
    client = preferences_app.test_client()
    headers = auth_header("preferences", caller="transactions")
    first = client.post("/internal/events", json=envelope, headers=headers)
    second = client.post("/internal/events", json=envelope, headers=headers)
    assert first.get_json()["status"] == "processed" and second.get_json()["status"] == "duplicate"
    assert mongo_db.processed_events.count_documents({"event_id": envelope["id"]}) == 1
