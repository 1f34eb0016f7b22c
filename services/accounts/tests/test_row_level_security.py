"""Row-level security as defence in depth: a customer's session sees only that customer's rows."""
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import sessionmaker

from services.accounts.db import act_as_customer, act_as_system, install_rls_scoping
from services.common.sql import sqlalchemy_url

from .factories import open_account, register


@pytest.fixture
def app_role_sessions(accounts_db):
    engine = create_engine(sqlalchemy_url(accounts_db.app_url))
    factory = sessionmaker(engine)
    install_rls_scoping(factory)
    yield factory
    engine.dispose()


@pytest.fixture
def two_customers(client):
    ada, bob = register(client), register(client)
    open_account(client, ada["id"])
    open_account(client, bob["id"])
    return ada, bob


def visible(session, table, column="customer_id"):
    return {str(v) for v in session.execute(text(f"SELECT {column} FROM {table}")).scalars()}


def test_an_unfiltered_query_shows_only_the_current_customers_rows(app_role_sessions, two_customers):
    ada, bob = two_customers
    with app_role_sessions() as session:
        act_as_customer(session, ada["id"])
        assert visible(session, "bank_accounts") == {ada["id"]}
        assert visible(session, "customers", "id") == {ada["id"]}
        assert visible(session, "audit_logs") == {ada["id"]}
        session.commit()
        # A new transaction on the same session is scoped again (SET LOCAL is re-applied).
        assert visible(session, "bank_accounts") == {ada["id"]}


def test_no_scope_sees_nothing_and_system_sees_all(app_role_sessions, two_customers):
    ada, bob = two_customers
    with app_role_sessions() as session:
        assert visible(session, "bank_accounts") == set() and visible(session, "customers", "id") == set()
        session.rollback()
        act_as_system(session)
        assert visible(session, "bank_accounts") == {ada["id"], bob["id"]}


def test_a_customer_cannot_write_another_customers_rows(app_role_sessions, two_customers):
    ada, bob = two_customers
    with app_role_sessions() as session:
        act_as_customer(session, ada["id"])
        updated = session.execute(text("UPDATE bank_accounts SET nickname = 'pwned', version = version + 1")).rowcount
        assert updated == 1  # only Ada's own
        with pytest.raises(ProgrammingError, match="row-level security"):
            session.execute(text(
                "INSERT INTO bank_accounts (id, customer_id, number, type, currency) "
                "VALUES (:id, :bob, 'GB00TEST', 'checking', 'EUR')"), {"id": uuid.uuid4(), "bob": bob["id"]})


def test_the_audit_log_is_append_only_for_the_app(app_role_sessions, two_customers, owner_engines):
    with app_role_sessions() as session:
        act_as_system(session)
        assert session.execute(text("UPDATE audit_logs SET action = 'forged'")).rowcount == 0
        assert session.execute(text("DELETE FROM audit_logs")).rowcount == 0
        session.commit()
    with owner_engines["accounts"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_logs WHERE action <> 'forged'")).scalar_one() == 4


def test_the_app_role_cannot_bypass_row_level_security(accounts_db):
    engine = create_engine(sqlalchemy_url(accounts_db.app_url))
    try:
        with engine.connect() as connection:
            bypass = connection.execute(text("SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user"))
            assert bypass.scalar_one() is False
            connection.execute(text("SET row_security = off"))
            with pytest.raises(ProgrammingError, match="would be affected by row-level security"):
                connection.execute(text("SELECT count(*) FROM bank_accounts"))
    finally:
        engine.dispose()
