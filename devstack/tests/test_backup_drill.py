"""Backup and restore drill: populate a running suite, back it up, wipe it, restore, compare.

The suite here is its own (databases drill_accounts / drill_transactions and MongoDB
drill_preferences on the run's stores), so wiping it cannot disturb other tests.
"""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

import psycopg
import pytest
import requests
from psycopg import sql
from pymongo import MongoClient
from sqlalchemy.orm import Session

from devstack.backup import BackupError, Target, restore
from devstack.postgres import bin_dir
from devstack.stack import ROOT, app_environment, free_port, migrate, prepare_databases, start_apps
from services.common.sql import make_engine
from tests.support.tokens import TEST_JWT_SIGNING_KEYS, TEST_SECRET, auth_header

pytestmark = pytest.mark.e2e
PREFIX = "drill_"
MONGO_DB = "drill_preferences"
PASSWORD = "Correct-Horse-42-battery"
SERVICES = ("accounts", "transactions", "preferences")


@pytest.fixture(scope="module")
def drill(stores, tmp_path_factory):
    databases = prepare_databases(stores, prefix=PREFIX)
    with MongoClient(stores.mongo_url) as client:
        client.drop_database(MONGO_DB)
    migrate(databases, stores.mongo_url, MONGO_DB, log=lambda _m: None)
    ports = {name: free_port() for name in ("gateway", "accounts", "transactions", "preferences")}
    environments = app_environment(ports, databases, stores.mongo_url, MONGO_DB, extra={
        "INTERNAL_TOKEN_SECRET": TEST_SECRET, "JWT_SIGNING_KEYS": TEST_JWT_SIGNING_KEYS,
        "WEB_CONCURRENCY": "1", "LOG_LEVEL": "WARNING", "OUTBOX_RELAY_INTERVAL": "0.2"})
    logs = tmp_path_factory.mktemp("drill-logs")
    # The services only: the drill is about their stores (and the gateway adds nothing to it).
    state = {"apps": start_apps(ports, environments, logs, names=SERVICES)}

    def restart():
        state["apps"] = start_apps(ports, environments, logs, names=SERVICES)
        return state["apps"]

    yield {"stores": stores, "databases": databases, "state": state, "restart": restart,
           "names": [db.database for db in databases.values()]}
    state["apps"].stop()
    with psycopg.connect(stores.pg_admin_url, autocommit=True) as connection:
        for db in databases.values():
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.database)))
    with MongoClient(stores.mongo_url) as client:
        client.drop_database(MONGO_DB)


# --- populate (straight at the services, with the internal tokens the gateway would mint) -----


def _as(service: str, customer: dict | None = None, **extra) -> dict:
    return auth_header(service, subject=customer["id"] if customer else None, **extra)


def _post(url: str, headers: dict, body: dict, expect: int = 201) -> dict:
    response = requests.post(url, json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, timeout=10)
    assert response.status_code == expect, response.text
    return response.json()


def _customer(accounts: str, name: str) -> dict:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    created = _post(accounts + "/api/v1/auth/register", _as("accounts"),
                    {"email": email, "password": PASSWORD, "full_name": name.title()})
    # Verified, so that they may pay each other (the ledger hears of it before this answers).
    verified = requests.post(f"{accounts}/api/v1/admin/customers/{created['id']}/kyc", timeout=10,
                             headers=auth_header("accounts", subject=str(uuid.uuid4()), roles=("admin",)),
                             json={"status": "verified", "note": "backup drill"})
    assert verified.status_code == 200, verified.text
    return {"id": created["id"]}


def _deposit(transactions: str, account_id: str, amount: str) -> None:
    """Admin deposit, retried until the ledger has heard of the account (outbox, < 1 s)."""
    deadline = time.monotonic() + 15
    while True:
        response = requests.post(transactions + "/api/v1/admin/deposits", timeout=10,
                                 headers={**auth_header("transactions", subject="ops", roles=("admin",)),
                                          "Idempotency-Key": uuid.uuid4().hex},
                                 json={"account_id": account_id, "amount": amount, "currency": "EUR"})
        if response.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.status_code == 201, response.text


def populate(apps) -> list[dict]:
    accounts, transactions, preferences = (apps.url(name) for name in SERVICES)
    customers = [_customer(accounts, "alice"), _customer(accounts, "bob")]
    for customer in customers:
        customer["accounts"] = [
            _post(accounts + "/api/v1/accounts", _as("accounts", customer), {"type": kind, "currency": "EUR"})["id"]
            for kind in ("checking", "savings")]
        _deposit(transactions, customer["accounts"][0], "2500.00")
    alice, bob = customers
    moves = [(alice, alice["accounts"][0], bob["accounts"][0], "120.45"),
             (bob, bob["accounts"][0], alice["accounts"][1], "1500.00"),  # a large transaction
             (alice, alice["accounts"][0], alice["accounts"][1], "0.01")]
    posted = [_post(transactions + "/api/v1/transfers", _as("transactions", who),
                    {"from_account_id": src, "to_account_id": dst, "amount": amount,
                     "currency": "EUR", "description": f"drill {amount}"})["id"]
              for who, src, dst, amount in moves]
    # Bob refunds Alice's payment (a sender may not claw back from another customer).
    _post(transactions + f"/api/v1/transfers/{posted[0]}/reverse", _as("transactions", bob), {})
    for customer, language in ((alice, "de"), (bob, "fr")):
        patched = requests.patch(preferences + "/api/v1/preferences", headers=_as("preferences", customer),
                                 json={"language": language, "theme": "dark"}, timeout=10)
        assert patched.status_code == 200, patched.text
    settings = requests.patch(preferences + "/api/v1/notification-settings", headers=_as("preferences", alice),
                              json={"events": {"large_transaction": {"threshold": "50.00"}}}, timeout=10)
    assert settings.status_code == 200, settings.text
    return customers


# --- what must survive --------------------------------------------------------------------------

def _wait_until_outbox_drained(databases, timeout: float = 20) -> None:
    """Every event delivered, so nothing changes between the snapshot and the backup."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = 0
        for db in databases.values():
            with psycopg.connect(db.owner_url) as connection:
                pending += connection.execute(
                    "SELECT count(*) FROM outbox_events WHERE delivered_at IS NULL").fetchone()[0]
        if pending == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{pending} outbox event(s) still undelivered")


def pg_snapshot(databases) -> dict:
    """Every row of every table (as JSON text, sorted) and every sequence's position."""
    snapshot = {}
    for db in databases.values():
        with psycopg.connect(db.owner_url) as connection:
            tables = [r[0] for r in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
            for table in tables:
                rows = connection.execute(sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(
                    sql.Identifier(table))).fetchall()
                snapshot[(db.database, table)] = sorted(r[0] for r in rows)
            for (sequence,) in connection.execute(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'").fetchall():
                snapshot[(db.database, sequence)] = connection.execute(sql.SQL(
                    "SELECT last_value, is_called FROM {}").format(sql.Identifier(sequence))).fetchone()
    return snapshot


def mongo_snapshot(mongo_url: str) -> dict:
    with MongoClient(mongo_url, uuidRepresentation="standard") as client:
        db = client[MONGO_DB]
        return {name: {"documents": list(db[name].find({}, sort=[("_id", 1)])),
                       "indexes": sorted((i["name"], tuple(i["key"].items()), i.get("unique", False),
                                          i.get("expireAfterSeconds")) for i in db[name].list_indexes())}
                for name in db.list_collection_names()}


def api_snapshot(apps, customers) -> dict:
    """What each customer reads from the services: balances, statements, their documents."""
    accounts, transactions, preferences = (apps.url(name) for name in SERVICES)
    seen = {}
    for customer in customers:
        def get(base: str, service: str, path: str):
            response = requests.get(base + path, headers=_as(service, customer), timeout=10)
            assert response.status_code == 200, response.text
            return response.json()
        listed = get(accounts, "accounts", "/api/v1/accounts")["items"]
        assert listed and not any(a["balance_unavailable"] for a in listed)
        seen[customer["id"]] = {
            "balances": {a["id"]: (a["balance"], a["available_balance"]) for a in listed},
            "statements": {a["id"]: get(transactions, "transactions", f"/api/v1/accounts/{a['id']}/transactions")["items"]
                           for a in listed},
            "preferences": get(preferences, "preferences", "/api/v1/preferences"),
            "notification_settings": get(preferences, "preferences", "/api/v1/notification-settings"),
            "notifications": get(preferences, "preferences", "/api/v1/notifications")["items"],
        }
    return seen


def _backup_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "devstack.backup", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


# --- the drill ----------------------------------------------------------------------------------

def test_backup_wipe_restore_gives_back_the_same_balances_entries_and_preferences(drill, tmp_path):
    stores, databases, state = drill["stores"], drill["databases"], drill["state"]
    customers = populate(state["apps"])
    _wait_until_outbox_drained(databases)
    before_api = api_snapshot(state["apps"], customers)
    before_pg, before_mongo = pg_snapshot(databases), mongo_snapshot(stores.mongo_url)
    assert len(before_pg[(f"{PREFIX}transactions", "journal_entries")]) >= 6  # 2 deposits, 3 transfers, 1 reversal
    assert before_mongo["preferences"]["documents"] and before_mongo["notifications"]["documents"]

    backup_dir = tmp_path / "backup"
    common = ["--pg-url", stores.pg_admin_url, "--databases", ",".join(drill["names"]),
              "--mongo-url", stores.mongo_url, "--mongo-db", MONGO_DB]
    made = _backup_cli("backup", str(backup_dir), *common)
    assert made.returncode == 0, made.stdout + made.stderr
    assert {p.name for p in (backup_dir / "postgres").iterdir()} == {f"{n}.dump" for n in drill["names"]}

    # Outage: the services stop, the databases are lost.
    state["apps"].stop()
    with psycopg.connect(stores.pg_admin_url, autocommit=True) as connection:
        for name in drill["names"]:
            connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        assert connection.execute("SELECT count(*) FROM pg_database WHERE datname = ANY(%s)",
                                  (drill["names"],)).fetchone()[0] == 0
    with MongoClient(stores.mongo_url) as client:
        client.drop_database(MONGO_DB)
        assert MONGO_DB not in client.list_database_names()

    restored = _backup_cli("restore", str(backup_dir), *common)
    assert restored.returncode == 0, restored.stdout + restored.stderr

    assert pg_snapshot(databases) == before_pg
    assert mongo_snapshot(stores.mongo_url) == before_mongo
    engine = make_engine(databases["transactions"].owner_url, "drill", pool_size=1)
    from services.transactions.domain.ledger.integrity import check_ledger
    with Session(engine) as session:
        assert check_ledger(session) == []
    engine.dispose()

    # The services come back on the restored data, read it as before and can write again
    # (the app roles' grants came back with the archives).
    apps = drill["restart"]()
    assert api_snapshot(apps, customers) == before_api
    alice, bob = customers
    _post(apps.url("transactions") + "/api/v1/transfers", _as("transactions", alice),
          {"from_account_id": alice["accounts"][1], "to_account_id": bob["accounts"][1],
           "amount": "1.00", "currency": "EUR"})
    patched = requests.patch(apps.url("preferences") + "/api/v1/preferences", headers=_as("preferences", bob), timeout=10,
                             json={"theme": "light"})
    assert patched.status_code == 200 and patched.json()["theme"] == "light"


def test_restore_refuses_a_damaged_backup_before_touching_anything(drill, tmp_path):
    stores = drill["stores"]
    backup_dir = tmp_path / "backup"
    made = _backup_cli("backup", str(backup_dir), "--pg-url", stores.pg_admin_url,
                       "--databases", ",".join(drill["names"]),
                       "--mongo-url", stores.mongo_url, "--mongo-db", MONGO_DB)
    assert made.returncode == 0, made.stdout + made.stderr
    dump = backup_dir / "postgres" / f"{PREFIX}accounts.dump"
    dump.write_bytes(dump.read_bytes()[:-10])
    before = pg_snapshot(drill["databases"])
    target = Target(stores.pg_admin_url, tuple(drill["names"]), stores.mongo_url, MONGO_DB, bin_dir())
    with pytest.raises(BackupError, match="accounts.dump is missing or damaged"):
        restore(target, backup_dir, log=lambda _m: None)
    assert pg_snapshot(drill["databases"]) == before
    refused = _backup_cli("backup", str(backup_dir), "--pg-url", stores.pg_admin_url,
                          "--mongo-url", stores.mongo_url, "--databases", ",".join(drill["names"]))
    assert refused.returncode == 1 and "exists" in refused.stdout  # never overwrites a backup
