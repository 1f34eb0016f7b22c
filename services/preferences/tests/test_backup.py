"""The nightly logical dump of the preferences database, on the real MongoDB-wire server: a
dump restores into an empty database document for document (dates and ids as they were),
with its unique indexes; a restore never merges into a live database; old dumps are pruned."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.preferences.backup import dump, main, prune, restore


def test_a_dump_restores_exactly_with_its_indexes(mongo_db, mongo_client, tmp_path):
    when = datetime(2026, 12, 3, 1, 2, 3, 456000, tzinfo=timezone.utc)
    mongo_db.notifications.insert_one({"_id": "n-1", "customer_id": "alice", "kind": "budget_exceeded",
                                       "event_key": "e:1", "created_at": when, "read_at": None})
    mongo_db.preferences.insert_one({"_id": "alice", "body": {"language": "en-GB", "widgets": ["accounts"]}})
    path, counts = dump(mongo_db, tmp_path, now=when)
    assert path.name == "preferences-20261203T010203Z.bson.gz" and counts["notifications"] == 1
    target = mongo_client[f"restore_{uuid.uuid4().hex[:8]}"]
    try:
        restored = restore(path, target)
        assert restored == counts
        assert target.notifications.find_one({"_id": "n-1"}) == mongo_db.notifications.find_one({"_id": "n-1"})
        assert target.preferences.find_one({"_id": "alice"})["body"]["widgets"] == ["accounts"]
        unique = {spec["name"] for spec in target.notifications.list_indexes() if spec.get("unique")}
        assert unique == {spec["name"] for spec in mongo_db.notifications.list_indexes() if spec.get("unique")}
        with pytest.raises(ValueError, match="not empty"):
            restore(path, target)          # never over live data
    finally:
        mongo_client.drop_database(target.name)


def test_old_dumps_are_pruned_and_a_partial_one_never_counts(tmp_path):
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    for day in range(5):
        (tmp_path / f"preferences-{start + timedelta(days=day):%Y%m%dT%H%M%SZ}.bson.gz").write_bytes(b"x")
    (tmp_path / "preferences-20261206T000000Z.bson.partial").write_bytes(b"x")
    removed = prune(tmp_path, keep=3)
    assert [p.name[12:20] for p in removed] == ["20261201", "20261202"]
    assert len(list(tmp_path.glob("*.bson.gz"))) == 3


def test_the_command_dumps_to_backup_dir(mongo_db, stores, tmp_path, monkeypatch, capsys):
    from conftest import TEST_MONGO_DB
    mongo_db.preferences.insert_one({"_id": "bob", "body": {}})
    monkeypatch.setenv("MONGO_URL", stores.mongo_url)
    monkeypatch.setenv("MONGO_DB", TEST_MONGO_DB)
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path))
    assert main([]) == 0
    assert "dumped" in capsys.readouterr().out and len(list(tmp_path.glob("*.bson.gz"))) == 1
