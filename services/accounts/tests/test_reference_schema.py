"""database/postgres/accounts.sql (the schema to read) says what the Alembic revisions build:
applied to an empty database, it yields the same columns, constraints, indexes, policies and
triggers as `upgrade head`."""
from pathlib import Path

import psycopg

from database.migrations.runner import upgrade
from devstack.databases import ensure_service_database

REFERENCE = Path(__file__).resolve().parents[3] / "database" / "postgres" / "accounts.sql"

CATALOGUE = {
    "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default
                    FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version'""",
    "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                        WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'alembic_version'""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
               "AND tablename <> 'alembic_version'",
    "policies": "SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies WHERE schemaname = 'public'",
    "rls": "SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
           "AND relname <> 'alembic_version'",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
    "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
    "sequences": "SELECT sequencename, min_value, max_value, cycle FROM pg_sequences WHERE schemaname = 'public'",
}


def catalogue(url: str) -> dict[str, set]:
    with psycopg.connect(url) as connection:
        return {name: {tuple(row) for row in connection.execute(query)} for name, query in CATALOGUE.items()}


def test_the_reference_sql_builds_what_the_migrations_build(stores):
    migrated = ensure_service_database(stores.pg_admin_url, "accounts", prefix="refmig_")
    upgrade("accounts", migrated.owner_url)
    referenced = ensure_service_database(stores.pg_admin_url, "accounts", prefix="refsql_")
    with psycopg.connect(referenced.owner_url, autocommit=True) as connection:
        connection.execute(REFERENCE.read_text())
    expected, actual = catalogue(migrated.owner_url), catalogue(referenced.owner_url)
    assert len(expected["triggers"]) >= 2 and len(expected["policies"]) >= 8  # the catalogue is read
    for name in CATALOGUE:
        assert actual[name] == expected[name], (name, actual[name] ^ expected[name])
