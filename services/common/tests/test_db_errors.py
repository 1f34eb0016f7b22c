"""Store trouble is a 503 with Retry-After (after bounded retries), never a 500."""
import pytest
from flask_smorest import Blueprint
from sqlalchemy import create_engine, text

from services.common.app_factory import create_service_app
from services.common.transient import retry_transient
from services.common.sql import init_sql, request_session, sqlalchemy_url
from tests.support.tokens import TEST_SECRET, FreshAuthHeader

AUTH = FreshAuthHeader("demo")
LOCK_KEY = 918273


def build_app(url, on_retry=lambda: None):
    app, api = create_service_app("demo", [], {"INTERNAL_TOKEN_SECRET": TEST_SECRET})
    init_sql(app, url)
    blp = Blueprint("demo", __name__, url_prefix="/api/v1")
    attempts = []

    @blp.post("/locked")
    def locked():
        session = request_session()

        def work():
            attempts.append(1)
            session.execute(text("SET LOCAL lock_timeout = '50ms'"))
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            session.commit()
            return {"ok": True}

        def before_retry():
            session.rollback()
            on_retry()

        return retry_transient(work, attempts=3, before_retry=before_retry)

    api.register_blueprint(blp)
    app.extensions["attempts"] = attempts
    return app


def test_lock_timeout_is_retried_then_503(accounts_db, owner_engines):
    app = build_app(accounts_db.app_url)
    with owner_engines["accounts"].connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        try:
            response = app.test_client().post("/api/v1/locked", headers=AUTH)
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            holder.commit()
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"
    assert len(app.extensions["attempts"]) == 3


def test_a_lock_released_in_time_succeeds_on_retry(accounts_db, owner_engines):
    holder = owner_engines["accounts"].connect()
    holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})

    def release():  # the other holder finishes while the first attempt has timed out
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        holder.commit()

    app = build_app(accounts_db.app_url, on_retry=release)
    try:
        response = app.test_client().post("/api/v1/locked", headers=AUTH)
    finally:
        holder.close()
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    assert len(app.extensions["attempts"]) == 2


def test_default_lock_timeout_is_set_on_app_connections(accounts_db):
    app = build_app(accounts_db.app_url)
    with app.extensions["sql_engine"].connect() as connection:
        assert connection.execute(text("SHOW lock_timeout")).scalar() == "2s"


def test_unreachable_store_is_503(stores):
    from devstack.stack import free_port
    app = build_app(f"postgresql://nobody:pw@127.0.0.1:{free_port()}/nothing")

    @app.get("/api/v1/read")
    def read():
        return {"n": request_session().execute(text("SELECT 1")).scalar()}

    response = app.test_client().get("/api/v1/read", headers=AUTH)
    assert response.status_code == 503
    assert response.get_json()["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"


def test_retry_gives_up_at_once_on_other_errors(accounts_db):
    engine = create_engine(sqlalchemy_url(accounts_db.app_url))
    calls = []

    def work():
        calls.append(1)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1/0"))

    with pytest.raises(Exception):
        retry_transient(work)
    assert calls == [1]
    engine.dispose()
