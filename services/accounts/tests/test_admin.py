"""Admin endpoints (freeze, unfreeze, audit log) and the create-admin command."""
import pytest
from sqlalchemy import text

from gateway.tokens import new_refresh_token as refresh_token
from services.accounts.cli import main as cli
from tests.support.tokens import auth_header

from .factories import admin_headers, customer_headers, open_account, register


@pytest.fixture
def account(client):
    return open_account(client, register(client)["id"])


def events(owner_engines):
    with owner_engines["accounts"].connect() as connection:
        return [(r.event_type, r.payload["data"]) for r in connection.execute(
            text("SELECT event_type, payload FROM outbox_events WHERE destination = 'transactions' ORDER BY id"))]


def test_freeze_and_unfreeze_are_in_the_ledger_before_they_answer(client, account, ledger, owner_engines):
    frozen = client.post(f"/api/v1/admin/accounts/{account['id']}/freeze", headers=admin_headers())
    assert frozen.status_code == 200 and frozen.get_json()["status"] == "frozen"
    assert ledger.accounts[account["id"]]["status"] == "frozen"  # put before the answer
    again = client.post(f"/api/v1/admin/accounts/{account['id']}/freeze", headers=admin_headers())
    assert again.status_code == 200  # already frozen: nothing new happens
    active = client.post(f"/api/v1/admin/accounts/{account['id']}/unfreeze", headers=admin_headers())
    assert active.status_code == 200 and active.get_json()["status"] == "active"
    opened = events(owner_engines)[0][1]
    expected = [("account.status_changed", {**opened, "status": "frozen", "version": 2}),
                ("account.status_changed", {**opened, "status": "active", "version": 3})]
    assert events(owner_engines)[1:] == expected
    assert ledger.puts == [(account["id"], data) for _type, data in expected]  # same snapshots, same versions


def test_a_freeze_the_ledger_cannot_take_changes_nothing(client, account, ledger, owner_engines):
    ledger.refuse_with = 500
    response = client.post(f"/api/v1/admin/accounts/{account['id']}/freeze", headers=admin_headers())
    assert response.status_code == 503 and response.get_json()["code"] == "service_unavailable"
    assert [event_type for event_type, _ in events(owner_engines)] == ["account.opened"]
    with owner_engines["accounts"].connect() as connection:
        row = connection.execute(text("SELECT status, version FROM bank_accounts")).one()
        actions = connection.execute(text("SELECT action FROM audit_logs")).scalars().all()
    assert tuple(row) == ("active", 1) and "account.frozen" not in actions


def test_a_customer_cannot_freeze(client):
    customer = register(client)
    account = open_account(client, customer["id"])
    response = client.post(f"/api/v1/admin/accounts/{account['id']}/freeze", headers=customer_headers(customer["id"]))
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize("subject", ["ops", "not-a-uuid", "../../x"])
def test_a_token_whose_subject_is_no_customer_id_is_401_not_500(client, subject):
    admin = auth_header("accounts", subject=subject, roles=("admin",))
    assert client.get("/api/v1/admin/customers", headers=admin).status_code == 401
    assert client.get("/api/v1/accounts", headers=auth_header("accounts", subject=subject)).status_code == 401


def test_freezing_a_closed_or_unknown_account(client, ledger, owner_engines):
    customer = register(client)
    account = open_account(client, customer["id"])
    ledger.set_balance(account["id"], "0.00")
    client.post(f"/api/v1/accounts/{account['id']}/close", headers=customer_headers(customer["id"]))
    closed = client.post(f"/api/v1/admin/accounts/{account['id']}/freeze", headers=admin_headers())
    assert closed.status_code == 409 and closed.get_json()["code"] == "account_closed"
    unknown = client.post("/api/v1/admin/accounts/7b1e6f0e-0000-4000-8000-000000000000/freeze",
                          headers=admin_headers())
    assert unknown.status_code == 404


def test_a_frozen_account_cannot_be_closed_by_its_customer(client, ledger):
    customer = register(client)
    account = open_account(client, customer["id"])
    ledger.set_balance(account["id"], "0.00")
    client.post(f"/api/v1/admin/accounts/{account['id']}/freeze", headers=admin_headers())
    response = client.post(f"/api/v1/accounts/{account['id']}/close", headers=customer_headers(customer["id"]))
    assert response.status_code == 409 and response.get_json()["code"] == "account_frozen"


def test_the_audit_log_records_every_change_with_its_request_id(client):
    customer = register(client)
    account = open_account(client, customer["id"])
    client.patch(f"/api/v1/accounts/{account['id']}", json={"nickname": "Rent"},
                 headers={**customer_headers(customer["id"]), "If-Match": '"v1"', "X-Request-ID": "req-rename-1"})
    client.post(f"/api/v1/admin/accounts/{account['id']}/freeze", headers={**admin_headers(), "X-Request-ID": "req-freeze"})
    page = client.get("/api/v1/admin/audit-logs", headers=admin_headers()).get_json()
    assert [e["action"] for e in page["items"]] == ["account.frozen", "account.renamed", "account.opened",
                                                    "customer.registered"]
    frozen, renamed = page["items"][0], page["items"][1]
    assert frozen["actor_type"] == "admin" and frozen["request_id"] == "req-freeze"
    assert frozen["before"] == {"status": "active"} and frozen["after"] == {"status": "frozen"}
    assert renamed["actor_id"] == customer["id"] and renamed["request_id"] == "req-rename-1"
    assert renamed["before"] == {"nickname": None} and renamed["after"] == {"nickname": "Rent"}
    assert page["next_cursor"] is None and frozen["occurred_at"].endswith("Z")


def test_the_audit_log_filters_and_paginates(client):
    first, second = register(client), register(client)
    for _ in range(3):
        open_account(client, first["id"])
    open_account(client, second["id"])
    url = f"/api/v1/admin/audit-logs?customer_id={first['id']}&action=account.opened&limit=2"
    page = client.get(url, headers=admin_headers()).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(url + f"&cursor={page['next_cursor']}", headers=admin_headers()).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    ids = [e["id"] for e in page["items"] + rest["items"]]
    assert ids == sorted(ids, key=int, reverse=True) and len(set(ids)) == 3
    assert {e["customer_id"] for e in page["items"] + rest["items"]} == {first["id"]}
    future = client.get("/api/v1/admin/audit-logs?from=2999-01-01T00:00:00Z", headers=admin_headers())
    assert future.get_json()["items"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "cursor=bm9wZQ", "actor_id=nope", "from=yesterday"])
def test_bad_audit_queries_are_422(client, query):
    response = client.get(f"/api/v1/admin/audit-logs?{query}", headers=admin_headers())
    assert response.status_code == 422


def test_only_admins_read_the_audit_log(client):
    customer = register(client)
    response = client.get("/api/v1/admin/audit-logs", headers=customer_headers(customer["id"]))
    assert response.status_code == 403


def test_create_admin_command_is_idempotent(accounts_db, owner_engines, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", accounts_db.app_url)
    monkeypatch.setenv("FINOVA_ADMIN_EMAIL", "admin@finova.example")
    monkeypatch.setenv("FINOVA_ADMIN_PASSWORD", "Strong-Secret-2026")
    assert cli(["create-admin"]) == 0
    assert cli(["create-admin"]) == 0
    assert cli(["create-admin", "--password", "Another-Secret-2027"]) == 0
    assert "created" in capsys.readouterr().out
    with owner_engines["accounts"].connect() as connection:
        rows = connection.execute(text("SELECT roles, password_hash FROM customers")).all()
    assert len(rows) == 1 and rows[0].roles == ["admin"] and rows[0].password_hash.startswith("$argon2id$")
    assert cli(["create-admin", "--password", "weak"]) == 2


def test_create_admin_never_promotes_a_self_registered_login(client, accounts_db, owner_engines, monkeypatch,
                                                              capsys):
    # Whoever registered this email first (anyone can) would otherwise become the admin.
    squatter = register(client, email="admin@finova.example")
    monkeypatch.setenv("DATABASE_URL", accounts_db.app_url)
    assert cli(["create-admin", "--email", "ADMIN@finova.example", "--password", "Strong-Secret-2026"]) == 2
    assert "self-registered" in capsys.readouterr().err
    with owner_engines["accounts"].connect() as connection:
        roles, password_hash = connection.execute(text("SELECT roles, password_hash FROM customers WHERE id = :id"),
                                                  {"id": squatter["id"]}).one()
    assert roles == ["customer"]
    login = client.post("/internal/auth/login", headers=auth_header("accounts"), json={
        "email": "admin@finova.example", "password": "Strong-Secret-2026", "refresh_token": refresh_token(),
        "client_address": "10.0.0.1"})
    assert login.status_code == 401  # and the password was not replaced either


def test_a_new_admin_password_or_a_role_change_revokes_every_session(client, accounts_db, owner_engines,
                                                                    monkeypatch):
    monkeypatch.setenv("DATABASE_URL", accounts_db.app_url)
    assert cli(["create-admin", "--email", "root@finova.example", "--password", "Admin-password-2026"]) == 0
    tokens = [refresh_token(), refresh_token()]
    for token in tokens:  # two sessions (two families)
        assert client.post("/internal/auth/login", headers=auth_header("accounts"), json={
            "email": "root@finova.example", "password": "Admin-password-2026", "refresh_token": token,
            "client_address": "10.0.0.1"}).status_code == 200
    assert cli(["create-admin", "--email", "root@finova.example", "--password", "Admin-password-2027"]) == 0
    for token in tokens:
        assert client.post("/internal/auth/refresh", headers=auth_header("accounts"),
                           json={"refresh_token": token, "new_refresh_token": refresh_token()}).status_code == 401

    fresh = refresh_token()
    client.post("/internal/auth/login", headers=auth_header("accounts"), json={
        "email": "root@finova.example", "password": "Admin-password-2027", "refresh_token": fresh,
        "client_address": "10.0.0.1"})
    assert cli(["revoke-admin", "--email", "root@finova.example"]) == 0
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT roles FROM customers")).scalar_one() == []
        live = connection.execute(text("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL")).scalar_one()
        audited = connection.execute(text("SELECT after FROM audit_logs WHERE action = 'customer.roles_changed'")).one()
    assert live == 0 and audited.after == {"roles": [], "sessions_revoked": 1}
    assert cli(["revoke-admin", "--email", "root@finova.example"]) == 2


def test_an_admin_made_by_the_command_can_log_in(client, accounts_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", accounts_db.app_url)
    assert cli(["create-admin", "--email", "root@finova.example", "--password", "Admin-password-2026"]) == 0
    response = client.post("/internal/auth/login", headers=auth_header("accounts"), json={
        "email": "root@finova.example", "password": "Admin-password-2026", "refresh_token": refresh_token(),
        "client_address": "10.0.0.1"})
    assert response.status_code == 200 and response.get_json()["roles"] == ["admin"]
