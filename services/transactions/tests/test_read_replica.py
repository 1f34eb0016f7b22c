"""Statements read from READ_DATABASE_URL when it is set; money writes never do."""
from conftest import service_config

from .factories import customer_headers, deposit, open_account


def test_statements_go_to_the_replica_and_writes_to_the_primary(transactions_db):
    from services.transactions.app import create_app
    # The test has no streaming replica: the same database through a second engine stands in.
    app = create_app(service_config(DATABASE_URL=transactions_db.app_url,
                                    READ_DATABASE_URL=transactions_db.app_url))
    client = app.test_client()
    replica = app.extensions["sql_read_sessions"].kw["bind"]
    account = open_account(client, "cust-replica")
    deposit(client, account, "12.00")
    assert replica.pool.checkedin() == 0  # writes went to the primary

    page = client.get(f"/api/v1/accounts/{account}/transactions", headers=customer_headers("cust-replica"))
    assert page.status_code == 200 and [line["amount"] for line in page.get_json()["items"]] == ["12.00"]
    assert replica.pool.checkedin() == 1
    ready = client.get("/readyz").get_json()
    assert ready["checks"]["postgres_replica"] == "ok"


def test_without_a_replica_statements_read_the_primary(transactions_app):
    assert "sql_read_sessions" not in transactions_app.extensions
