"""m0002: the unique event_key that makes alerts idempotent, and the unread-listing index."""
import pytest
from pymongo.errors import DuplicateKeyError

from database.mongodb.migrate import apply_migrations
from database.mongodb.migrations import m0002_notification_events


def test_event_key_is_unique_where_present(fresh_mongo_db):
    apply_migrations(fresh_mongo_db, log=lambda _m: None)
    notifications = fresh_mongo_db.notifications
    key = "e1:low_balance:acct"
    notifications.insert_one({"_id": "a", "customer_id": "c", "event_key": key})
    with pytest.raises(DuplicateKeyError):
        notifications.insert_one({"_id": "b", "customer_id": "c", "event_key": key})
    # Notifications that do not come from an event carry no key, and need none.
    notifications.insert_many([{"_id": "c", "customer_id": "c"}, {"_id": "d", "customer_id": "c"}])
    assert notifications.count_documents({}) == 3


def test_m0002_can_run_again_after_a_crash_before_it_was_recorded(fresh_mongo_db):
    apply_migrations(fresh_mongo_db, log=lambda _m: None)
    before = fresh_mongo_db.notifications.index_information()
    m0002_notification_events.up(fresh_mongo_db)
    assert fresh_mongo_db.notifications.index_information() == before
    assert before["event_key_unique"]["unique"] is True
    assert before["customer_unread_created_desc"]["key"] == [
        ("customer_id", 1), ("read_at", 1), ("created_at", -1), ("_id", -1)]
