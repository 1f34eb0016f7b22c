from tests.support.tokens import auth_header


def test_account_types_need_an_internal_token(accounts_app):
    client = accounts_app.test_client()
    assert client.get("/api/v1/account-types").status_code == 401
    response = client.get("/api/v1/account-types", headers=auth_header("accounts"))
    assert response.status_code == 200
    assert [t["type"] for t in response.get_json()] == ["checking", "savings", "credit_card", "loan",
                                                        "investment"]


def test_readyz_checks_its_own_database(accounts_app):
    response = accounts_app.test_client().get("/readyz")
    assert response.status_code == 200 and response.get_json()["checks"] == {"postgres": "ok"}


def test_readyz_is_503_with_the_reason_when_the_database_is_down():
    from conftest import service_config
    from devstack.stack import free_port
    from services.accounts.app import create_app
    app = create_app(service_config(DATABASE_URL=f"postgresql://x:y@127.0.0.1:{free_port()}/none"))
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "Connection refused" in response.get_json()["checks"]["postgres"]
    assert client.get("/healthz").status_code == 200
