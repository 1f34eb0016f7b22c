"""Each service's Alembic history upgrades, downgrades and upgrades again on the real server."""
import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from database.migrations.runner import SERVICES, downgrade, upgrade
from devstack.databases import ensure_service_database
from services.common.sql import sqlalchemy_url


def tables(url):
    engine = create_engine(sqlalchemy_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
def test_upgrade_downgrade_upgrade(stores, service):
    database = ensure_service_database(stores.pg_admin_url, service, prefix="migtest_")
    upgrade(service, database.owner_url)
    at_head = tables(database.owner_url)
    assert {"outbox_events", "processed_events", "alembic_version"} <= at_head
    downgrade(service, database.owner_url)
    assert tables(database.owner_url) == {"alembic_version"}
    upgrade(service, database.owner_url)
    assert tables(database.owner_url) == at_head


@pytest.mark.parametrize("service", SERVICES)
def test_the_app_role_uses_tables_but_cannot_change_them(databases, service):
    with psycopg.connect(databases[service].app_url, autocommit=True) as connection:
        connection.execute("SELECT count(*) FROM outbox_events")
        for statement in ("CREATE TABLE intruder (id int)", "DROP TABLE outbox_events",
                          "ALTER TABLE outbox_events ADD COLUMN x int"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement)
