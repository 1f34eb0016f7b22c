"""Account events (opened, frozen / unfrozen, closed) raise notifications once, by settings."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from services.preferences.domain.account_alerts import owner_of, raise_account_alert
from services.preferences.events import on_account_opened
from services.preferences.kinds import NOTIFICATION_SETTINGS

from .factories import account_closed, account_opened, account_status_changed

SETTINGS = "/api/v1/notification-settings"


def _inbox(mongo_db, customer_id):
    return [(n["kind"], n["data"]["account_id"])
            for n in mongo_db.notifications.find({"customer_id": customer_id})
            .sort([("created_at", 1), ("kind", 1)])]


def test_each_account_event_notifies_its_owner_once_even_delivered_twice(
        alice, deliver, mongo_db):
    opened = account_opened(alice.customer_id)
    account_id = opened["data"]["account_id"]
    events = [opened, account_status_changed(account_id, "frozen"),
              account_status_changed(account_id, "active"), account_closed(account_id)]
    assert [deliver(e) for e in events] == ["processed"] * 4
    assert [deliver(e) for e in events] == ["duplicate"] * 4
    assert sorted(_inbox(mongo_db, alice.customer_id)) == sorted(
        (kind, account_id) for kind in ("account_opened", "account_frozen", "account_unfrozen",
                                        "account_closed"))
    assert owner_of(mongo_db, account_id) == alice.customer_id


def test_an_item_reads_like_the_other_notifications(alice, deliver):
    opened = account_opened(alice.customer_id, account_type="savings", currency="CHF")
    deliver(opened)
    [item] = alice.get("/api/v1/notifications").get_json()["items"]
    assert item["kind"] == "account_opened" and item["read_at"] is None
    assert item["channels"] == ["push", "email"]
    assert item["data"] == {"account_id": opened["data"]["account_id"], "type": "savings",
                            "currency": "CHF"}
    assert "savings account in CHF" in item["message"]


def test_one_opening_delivered_concurrently_records_one_owner_and_one_notification(
        alice, mongo_db):
    opened = account_opened(alice.customer_id)
    barrier = threading.Barrier(4)

    def apply(_):
        barrier.wait()
        on_account_opened(mongo_db, opened["data"], opened["id"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(apply, range(4)))
    assert _inbox(mongo_db, alice.customer_id) == [("account_opened", opened["data"]["account_id"])]
    assert mongo_db.account_owners.count_documents({}) == 1


def test_a_redelivered_opening_keeps_the_first_owner(alice, bob, deliver, mongo_db):
    opened = account_opened(alice.customer_id)
    deliver(opened)
    forged = account_opened(bob.customer_id, account_id=opened["data"]["account_id"])
    deliver(forged)
    assert owner_of(mongo_db, opened["data"]["account_id"]) == alice.customer_id


def test_an_event_carrying_the_customer_needs_no_earlier_opening(alice, deliver, mongo_db):
    event = account_status_changed("acct-unseen", "frozen", customer_id=alice.customer_id)
    assert deliver(event) == "processed"
    assert _inbox(mongo_db, alice.customer_id) == [("account_frozen", "acct-unseen")]


def test_an_account_of_unknown_owner_is_acknowledged_without_notifications(deliver, mongo_db):
    assert deliver(account_status_changed("acct-never-opened", "frozen")) == "processed"
    assert deliver(account_closed("acct-never-opened")) == "processed"
    assert mongo_db.notifications.count_documents({}) == 0


def test_the_account_changes_rule_can_be_switched_off(alice, deliver, mongo_db):
    alice.patch(SETTINGS, {"events": {"account_changes": {"enabled": False}}})
    opened = account_opened(alice.customer_id)
    deliver(opened)
    deliver(account_closed(opened["data"]["account_id"]))
    assert _inbox(mongo_db, alice.customer_id) == []
    # The owner is still recorded, for events once the rule is back on.
    assert owner_of(mongo_db, opened["data"]["account_id"]) == alice.customer_id


def test_malformed_account_events_are_acknowledged_and_write_nothing(alice, deliver, mongo_db):
    bad = [account_status_changed("acct-1", "melted", customer_id=alice.customer_id),
           {**account_opened(alice.customer_id), "data": {"account_id": "acct-2"}},
           {**account_closed("acct-3"), "data": {"account_id": 42}}]
    assert [deliver(e) for e in bad] == ["processed"] * 3
    assert mongo_db.notifications.count_documents({}) == 0
    assert mongo_db.account_owners.count_documents({}) == 0


def test_account_notifications_wait_for_the_end_of_quiet_hours(alice, mongo_db):
    alice.patch(SETTINGS, {"quiet_hours": {"enabled": True, "start": "22:00", "end": "07:00",
                                           "timezone": "America/New_York"}})
    night = datetime(2026, 7, 1, 5, 0, tzinfo=timezone.utc)  # 01:00 in New York (EDT)
    assert raise_account_alert(mongo_db, NOTIFICATION_SETTINGS, "account_frozen",
                               alice.customer_id, "acct-1", {"status": "frozen"}, "e1",
                               now=night) == 1
    assert raise_account_alert(mongo_db, NOTIFICATION_SETTINGS, "account_frozen",
                               alice.customer_id, "acct-1", {"status": "frozen"}, "e1",
                               now=night) == 0
    [stored] = mongo_db.notifications.find({"customer_id": alice.customer_id})
    assert stored["delivery"] == {"status": "deferred",
                                  "deliver_after": datetime(2026, 7, 1, 11, 0,
                                                            tzinfo=timezone.utc)}
