"""What a service's answers give away: /api answers are never cached, and readiness says which
check failed but not why (the reason goes to the log)."""
import json

from flask_smorest import Blueprint

from services.common.app_factory import create_service_app
from services.common.errors import Problem
from services.common.health import add_readiness_check
from tests.support.tokens import TEST_SECRET, FreshAuthHeader

AUTH = FreshAuthHeader("demo", subject="c1")


def build_app():
    app, api = create_service_app("demo", [], {"INTERNAL_TOKEN_SECRET": TEST_SECRET, "LOG_LEVEL": "INFO"})
    blp = Blueprint("demo", __name__, url_prefix="/api/v1")

    @blp.get("/cached")
    def cached():
        return {"ok": True}, 200, {"Cache-Control": "public, max-age=3600"}

    @blp.get("/refused")
    def refused():
        raise Problem(409, "account_frozen", "The account is frozen.")

    api.register_blueprint(blp)
    return app


def test_every_api_answer_is_no_store_whatever_the_handler_said():
    client = build_app().test_client()
    for path, headers, status in (("/api/v1/cached", AUTH, 200), ("/api/v1/refused", AUTH, 409),
                                  ("/api/v1/cached", {}, 401), ("/api/v1/nowhere", AUTH, 404)):
        response = client.get(path, headers=headers)
        assert response.status_code == status, path
        assert response.headers["Cache-Control"] == "no-store", (path, status)
    # Outside /api nothing is imposed (probes and the scraper).
    assert "Cache-Control" not in client.get("/healthz").headers


def test_readiness_names_the_failed_check_and_logs_the_reason(capfd):
    app = build_app()
    add_readiness_check(app, "postgres", lambda: None)

    def down():
        raise ConnectionError('connection to server at "db.internal" (10.0.0.7), port 5432 failed: '
                              'password authentication failed for user "accounts_app"')
    add_readiness_check(app, "mongo", down)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"] == {"postgres": "ok", "mongo": "failed"}
    assert "db.internal" not in response.get_data(as_text=True)
    assert "accounts_app" not in response.get_data(as_text=True)
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    failures = [line for line in logged if line.get("message") == "readiness check failed"]
    assert failures and failures[0]["check"] == "mongo" and "db.internal" in failures[0]["reason"]
