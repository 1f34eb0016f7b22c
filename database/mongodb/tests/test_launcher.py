"""The embedded server launcher and the migrations."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from database.mongodb import launcher
from database.mongodb.launcher import LauncherError, ensure_built, free_port, start, stop
from database.mongodb.migrate import apply_migrations

from devstack.stack import ROOT as REPO_ROOT


def _client(port: int) -> MongoClient:
    return MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=5000)


def test_data_file_survives_sigterm_restart(mongo_cache_dir, tmp_path):
    data_file = tmp_path / "nested" / "finova.mv.db"  # parent does not exist yet
    port = free_port()
    proc = start(port, mongo_cache_dir, data_file=data_file, log_path=tmp_path / "a.log")
    try:
        with _client(port) as client:
            client.prefs.preferences.insert_one({"customer_id": "c-42", "version": 3})
    finally:
        code = stop(proc)
    # The JVM ran its shutdown hook and exited by itself (143 = 128 + SIGTERM), not SIGKILL.
    assert code in (0, 143), (tmp_path / "a.log").read_text()
    assert data_file.is_file()

    port = free_port()
    proc = start(port, mongo_cache_dir, data_file=data_file, log_path=tmp_path / "b.log")
    try:
        with _client(port) as client:
            doc = client.prefs.preferences.find_one({"customer_id": "c-42"}, {"_id": 0})
    finally:
        stop(proc)
    assert doc == {"customer_id": "c-42", "version": 3}


def test_port_in_use_is_a_clear_error(mongo_cache_dir, tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(LauncherError, match="already in use"):
            start(port, mongo_cache_dir, log_path=tmp_path / "s.log", timeout=30)


def test_ensure_built_reuses_the_cache(mongo_cache_dir, monkeypatch):
    classpath = ensure_built(mongo_cache_dir)  # builds only if the cache is cold
    stamp = mongo_cache_dir / "build.sha256"
    before = stamp.stat().st_mtime_ns

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ensure_built ran a build step: {args[0]}")

    monkeypatch.setattr(launcher.subprocess, "run", no_subprocess)
    t0 = time.monotonic()
    assert ensure_built(mongo_cache_dir) == classpath
    assert time.monotonic() - t0 < 1.0
    assert stamp.stat().st_mtime_ns == before


def test_missing_maven_is_named(monkeypatch, tmp_path):
    real_which = launcher.shutil.which
    monkeypatch.setattr(launcher.shutil, "which",
                        lambda tool: None if tool == "mvn" else real_which(tool))
    with pytest.raises(LauncherError, match=r"'mvn' \(Maven\) is not installed"):
        ensure_built(tmp_path / "cache")


def test_migrations_apply_once_and_enforce_uniqueness(fresh_mongo_db):
    lines: list[str] = []
    assert apply_migrations(fresh_mongo_db, log=lines.append) == [1, 2, 3]
    assert apply_migrations(fresh_mongo_db, log=lines.append) == []  # second run is a no-op
    assert [d["version"] for d in fresh_mongo_db.schema_migrations.find()] == [1, 2, 3]

    for name in ("preferences", "notification_settings", "notifications", "processed_events"):
        assert name in fresh_mongo_db.list_collection_names()

    indexes = fresh_mongo_db.notifications.index_information()
    assert indexes["customer_created_desc"]["key"] == [
        ("customer_id", 1), ("created_at", -1), ("_id", -1)]
    assert indexes["read_at_ttl"]["expireAfterSeconds"] == 7776000
    ttl = fresh_mongo_db.processed_events.index_information()["received_at_ttl"]
    assert ttl["expireAfterSeconds"] == 30 * 24 * 3600

    for coll, field in (("preferences", "customer_id"), ("notification_settings", "customer_id"),
                        ("processed_events", "event_id")):
        fresh_mongo_db[coll].insert_one({field: "dup", "customer_id": "dup", "version": 1})
        with pytest.raises(DuplicateKeyError):
            fresh_mongo_db[coll].insert_one({field: "dup", "customer_id": "dup", "version": 2})


def test_migrate_cli(mongo_url, mongo_client):
    db_name = "finova_test_migrate_cli"
    mongo_client.drop_database(db_name)
    try:
        cmd = [sys.executable, "-m", "database.mongodb.migrate", "--url", mongo_url, "--db", db_name]
        first = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        assert "applied [1, 2, 3]" in first.stdout
        second = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "nothing to apply" in second.stdout
    finally:
        mongo_client.drop_database(db_name)
