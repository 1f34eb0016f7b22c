from tests.support.tokens import auth_header


def test_account_types_need_an_internal_token(accounts_app):
    client = accounts_app.test_client()
    assert client.get("/api/v1/account-types").status_code == 401
    response = client.get("/api/v1/account-types", headers=auth_header("accounts"))
    assert response.status_code == 200
    assert [t["type"] for t in response.get_json()] == ["checking", "savings", "credit_card", "loan",
                                                        "investment"]


def test_readyz_checks_its_own_database_and_its_pii_keys(accounts_app):
    response = accounts_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"postgres": "ok", "pii_keys": "ok"}


def test_readyz_is_503_with_the_reason_when_the_database_is_down():
    from conftest import service_config
    from devstack.stack import free_port
    from services.accounts.app import create_app
    app = create_app(service_config(DATABASE_URL=f"postgresql://x:y@127.0.0.1:{free_port()}/none"))
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    # Which check failed, never why (the reason is logged: services/common/tests/test_health.py).
    assert checks == {"postgres": "failed", "pii_keys": "failed"}
    assert client.get("/healthz").status_code == 200


def test_malformed_pii_keys_stop_the_app_at_start(monkeypatch):
    import pytest
    from services.accounts.app import create_app
    from services.common.config import ConfigError
    from tests.support.tokens import TEST_SECRET
    monkeypatch.setenv("PII_ENCRYPTION_KEYS", "k1:not-a-fernet-key")
    with pytest.raises(ConfigError, match="PII_ENCRYPTION_KEYS is malformed \\(<hidden>\\)"):
        create_app({"INTERNAL_TOKEN_SECRET": TEST_SECRET, "DATABASE_URL": "postgresql://x@127.0.0.1/none"})
