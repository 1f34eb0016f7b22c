"""The preferences database as the versioned scripts leave it, on the real server."""
import pytest
from pymongo.errors import DuplicateKeyError

from database.mongodb.migrate import apply_migrations
from database.mongodb.migrations import m0003_account_owners
from database.mongodb.migrations.helpers import ensure_collection, migration_log

VALIDATED = ("preferences", "notification_settings", "notifications", "account_owners")


def test_every_validator_is_kept_or_its_absence_logged(fresh_mongo_db):
    lines: list[str] = []
    apply_migrations(fresh_mongo_db, log=lines.append)
    for name in VALIDATED:
        kept = "validator" in fresh_mongo_db[name].options()
        logged = [line for line in lines if line.startswith(f"{name}: server")]
        # A real MongoDB keeps $jsonSchema; mongo-java-server drops it, and that is said.
        assert kept or logged, (name, lines)
        if kept:
            assert "$jsonSchema" in fresh_mongo_db[name].options()["validator"]


def test_setting_a_validator_on_an_existing_collection_logs_instead_of_failing(
        fresh_mongo_db):
    apply_migrations(fresh_mongo_db, log=lambda _m: None)
    lines: list[str] = []
    token = migration_log.set(lines.append)
    try:
        ensure_collection(fresh_mongo_db, "account_owners",
                          {"$jsonSchema": {"bsonType": "object", "required": ["customer_id"]}})
    finally:
        migration_log.reset(token)
    options = fresh_mongo_db.account_owners.options()
    if "validator" in options:  # a real MongoDB: collMod replaced it
        assert options["validator"]["$jsonSchema"]["required"] == ["customer_id"] and not lines
    else:  # mongo-java-server has no collMod
        assert len(lines) == 1 and lines[0].startswith("account_owners: server refused"), lines


def test_m0003_can_run_again_after_a_crash_before_it_was_recorded(fresh_mongo_db):
    assert 3 in apply_migrations(fresh_mongo_db, log=lambda _m: None)
    fresh_mongo_db.account_owners.insert_one({"_id": "acct-1", "customer_id": "c1"})
    m0003_account_owners.up(fresh_mongo_db)
    assert fresh_mongo_db.account_owners.find_one({"_id": "acct-1"})["customer_id"] == "c1"
    with pytest.raises(DuplicateKeyError):  # one owner per account, by _id
        fresh_mongo_db.account_owners.insert_one({"_id": "acct-1", "customer_id": "c2"})
