"""transfer.posted events from the ledger raise notifications once, following settings."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from services.preferences.domain.alerts import raise_transfer_alerts
from services.preferences.events import on_transfer_posted
from services.preferences.kinds import NOTIFICATION_SETTINGS
from services.preferences.events import TransferPostedSchema

from .factories import debit, posting, transfer_posted

SETTINGS = "/api/v1/notification-settings"


def _kinds(mongo_db, customer_id):
    return sorted(n["kind"] for n in mongo_db.notifications.find({"customer_id": customer_id}))


def test_a_debit_crossing_the_threshold_raises_one_notification_even_delivered_twice(
        alice, deliver, mongo_db):
    event = debit(alice.customer_id, "30.00", "80.00")  # 110.00 -> 80.00, threshold 100.00
    assert deliver(event) == "processed"
    assert deliver(event) == "duplicate"
    notifications = list(mongo_db.notifications.find({"customer_id": alice.customer_id}))
    assert len(notifications) == 1
    assert notifications[0]["kind"] == "low_balance"
    assert notifications[0]["data"]["balance_after"] == "80.00"
    assert notifications[0]["data"]["threshold"] == "100.00"


def test_debits_already_under_the_threshold_do_not_raise_again(alice, deliver, mongo_db):
    deliver(debit(alice.customer_id, "30.00", "80.00"))
    deliver(debit(alice.customer_id, "5.00", "75.00"))
    assert _kinds(mongo_db, alice.customer_id) == ["low_balance"]


def test_landing_exactly_on_the_threshold_is_not_below_it(alice, deliver, mongo_db):
    deliver(debit(alice.customer_id, "10.00", "100.00"))
    assert _kinds(mongo_db, alice.customer_id) == []


def test_thresholds_follow_the_customers_settings(alice, deliver, mongo_db):
    alice.patch(SETTINGS, {"events": {"low_balance": {"threshold": "50"},
                                      "large_transaction": {"threshold": "20.00"}}})
    deliver(debit(alice.customer_id, "30.00", "80.00"))   # not under 50; large (> 20)
    deliver(debit(alice.customer_id, "20.01", "49.99"))   # crosses 50; large (> 20)
    deliver(debit(alice.customer_id, "20.00", "29.99"))   # neither: 20.00 is not over 20.00
    assert _kinds(mongo_db, alice.customer_id) == ["large_transaction", "large_transaction",
                                                   "low_balance"]


def test_disabled_rules_raise_nothing(alice, deliver, mongo_db):
    alice.patch(SETTINGS, {"events": {"low_balance": {"enabled": False},
                                      "suspicious_activity": {"enabled": False}}})
    deliver(debit(alice.customer_id, "30.00", "80.00", flags=("suspicious",)))
    assert _kinds(mongo_db, alice.customer_id) == []


def test_a_suspicious_large_transfer_between_two_customers(alice, bob, deliver, mongo_db):
    event = transfer_posted([posting(alice.customer_id, "-5000.00", "20.00"),
                             posting(bob.customer_id, "5000.00", "5000.00")],
                            "5000.00", flags=("suspicious",))
    deliver(event)
    deliver(event)
    assert _kinds(mongo_db, alice.customer_id) == ["large_transaction", "low_balance",
                                                   "suspicious_activity"]
    assert _kinds(mongo_db, bob.customer_id) == ["large_transaction", "suspicious_activity"]


def test_thresholds_compare_in_the_postings_currency(alice, deliver, mongo_db):
    deliver(debit(alice.customer_id, "30", "80", currency="JPY"))
    [notification] = mongo_db.notifications.find({"customer_id": alice.customer_id})
    assert notification["data"]["currency"] == "JPY"
    assert "80 JPY" in notification["message"]


def test_quiet_hours_defer_delivery_to_their_end(alice, mongo_db):
    alice.patch(SETTINGS, {"quiet_hours": {"enabled": True, "start": "22:00", "end": "07:00",
                                           "timezone": "Europe/Berlin"}})
    transfer = TransferPostedSchema().load(debit(alice.customer_id, "30.00", "80.00")["data"])
    night = datetime(2026, 11, 25, 23, 30, tzinfo=timezone.utc)  # 00:30 in Berlin
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    raise_transfer_alerts(mongo_db, NOTIFICATION_SETTINGS, transfer, "e-night", now=night)
    raise_transfer_alerts(mongo_db, NOTIFICATION_SETTINGS, transfer, "e-noon", now=noon)
    deferred = mongo_db.notifications.find_one({"event_key": {"$regex": "^e-night:"}})
    seven_in_berlin = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)
    assert deferred["delivery"] == {"status": "deferred", "deliver_after": seven_in_berlin}
    assert mongo_db.notifications.find_one({"event_key": {"$regex": "^e-noon:"}})["delivery"] == \
        {"status": "pending", "deliver_after": noon}


def test_a_redelivery_after_a_crash_before_recording_adds_nothing(alice, deliver, mongo_db):
    event = debit(alice.customer_id, "30.00", "80.00")
    on_transfer_posted(mongo_db, event["data"], event["id"])  # applied, then the process died
    assert deliver(event) == "processed"
    assert _kinds(mongo_db, alice.customer_id) == ["low_balance"]


def test_the_same_event_delivered_concurrently_raises_one_notification(alice, mongo_db):
    event = debit(alice.customer_id, "30.00", "80.00")
    barrier = threading.Barrier(4)

    def apply(_):
        barrier.wait()
        on_transfer_posted(mongo_db, event["data"], event["id"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(apply, range(4)))
    assert _kinds(mongo_db, alice.customer_id) == ["low_balance"]


def test_malformed_event_data_is_acknowledged_without_notifications(deliver, mongo_db):
    event = debit("cust-x", "30.00", "80.00")
    event["data"]["postings"][0]["amount"] = 30.0  # a float: refused, never guessed at
    assert deliver(event) == "processed"
    assert mongo_db.notifications.count_documents({}) == 0


def test_internal_accounts_and_unknown_event_types_raise_nothing(deliver, mongo_db):
    event = transfer_posted([posting(None, "-10.00", "-10.00"), posting(None, "10.00", "10.00")],
                            "10.00")
    assert deliver(event) == "processed"
    assert deliver({**event, "id": "3f1c0c8e-2d5e-4a57-9b7c-3f0b5a1e9d11",
                    "type": "customer.registered"}) == "processed"
    assert mongo_db.notifications.count_documents({}) == 0


def test_members_the_rules_do_not_use_may_be_null_or_missing(alice, deliver, mongo_db):
    event = debit(alice.customer_id, "30.00", "80.00")
    event["data"].update(description=None, kind=None, created_at=None,
                         reverses_transfer_id=None)
    del event["data"]["flags"], event["data"]["amount"]
    assert deliver(event) == "processed"
    assert _kinds(mongo_db, alice.customer_id) == ["low_balance"]


def test_amounts_in_other_scripts_digits_are_refused(alice, deliver, mongo_db):
    event = debit(alice.customer_id, "30.00", "80.00")
    event["data"]["postings"][0]["balance_after"] = "\u0668\u0660.00"  # Arabic-Indic "80.00"
    assert deliver(event) == "processed"
    assert mongo_db.notifications.count_documents({}) == 0
