"""The ledger's workflow events raise their notifications per the customer's settings."""
import uuid
from datetime import datetime, timezone

import pytest

from services.preferences.domain.workflow_alerts import raise_workflow_alert
from services.preferences.kinds import NOTIFICATION_SETTINGS

SETTINGS = "/api/v1/notification-settings"


def _event(event_type: str, data: dict) -> dict:
    return {"id": str(uuid.uuid4()), "type": event_type, "source": "transactions",
            "occurred_at": "2026-12-02T10:00:00Z", "data": data}


def failed(customer_id: str) -> dict:
    return _event("scheduled_transfer.failed", {
        "customer_id": customer_id, "schedule_id": str(uuid.uuid4()), "run_date": "2026-12-02",
        "error_code": "insufficient_funds", "amount": "60.00", "currency": "EUR", "from_account_id": "acc-1"})


def bill(event_type: str, customer_id: str) -> dict:
    return _event(event_type, {"customer_id": customer_id, "bill_id": str(uuid.uuid4()), "biller_name": "Power Co",
                               "amount_due": "42.10", "currency": "EUR", "due_date": "2026-12-09"})


def earned(customer_id: str) -> dict:
    return _event("rewards.earned", {"customer_id": customer_id, "points": 12, "points_balance": 40,
                                     "transfer_id": str(uuid.uuid4())})


def _inbox(mongo_db, customer_id):
    return sorted((n["kind"], n["message"]) for n in mongo_db.notifications.find({"customer_id": customer_id}))


def test_each_event_raises_its_notification_once(alice, deliver, mongo_db):
    events = [failed(alice.customer_id), bill("bill.due", alice.customer_id), bill("bill.overdue", alice.customer_id)]
    assert [deliver(e) for e in events] == ["processed"] * 3
    assert [deliver(e) for e in events] == ["duplicate"] * 3
    inbox = _inbox(mongo_db, alice.customer_id)
    assert [kind for kind, _ in inbox] == ["bill_due", "bill_overdue", "scheduled_transfer_failed"]
    assert "60.00 EUR due 2026-12-02 did not go through (insufficient_funds)" in inbox[2][1]
    assert "Power Co for 42.10 EUR is due on 2026-12-09" in inbox[0][1]
    listed = alice.get("/api/v1/notifications").get_json()["items"]
    assert {n["kind"] for n in listed} == {"bill_due", "bill_overdue", "scheduled_transfer_failed"}


def test_rewards_earned_only_for_a_customer_who_wants_it(alice, bob, deliver, mongo_db):
    assert deliver(earned(alice.customer_id)) == "processed"
    assert _inbox(mongo_db, alice.customer_id) == []  # off by default
    bob.patch(SETTINGS, {"events": {"rewards_earned": {"enabled": True}}})
    deliver(earned(bob.customer_id))
    assert _inbox(mongo_db, bob.customer_id) == [("rewards_earned",
                                                  "You earned 12 points; your balance is 40 points.")]


@pytest.mark.parametrize("rule, event", [("scheduled_transfer_failed", failed), ("bill_due", None)])
def test_a_rule_switched_off_raises_nothing(alice, deliver, mongo_db, rule, event):
    alice.patch(SETTINGS, {"events": {rule: {"enabled": False}}})
    deliver(event(alice.customer_id) if event else bill("bill.due", alice.customer_id))
    assert _inbox(mongo_db, alice.customer_id) == []


def test_settings_show_the_new_rules_with_their_defaults(alice):
    events = alice.get(SETTINGS).get_json()["events"]
    assert events["scheduled_transfer_failed"]["enabled"] is True
    assert events["rewards_earned"]["enabled"] is False


def test_quiet_hours_defer_them(alice, mongo_db):
    alice.patch(SETTINGS, {"quiet_hours": {"enabled": True, "start": "22:00", "end": "07:00", "timezone": "UTC"}})
    night = datetime(2026, 7, 1, 23, 0, tzinfo=timezone.utc)
    payload = failed(alice.customer_id)["data"]
    assert raise_workflow_alert(mongo_db, NOTIFICATION_SETTINGS, "scheduled_transfer.failed", payload, "e1",
                                now=night) == 1
    [stored] = mongo_db.notifications.find({"customer_id": alice.customer_id})
    assert stored["delivery"] == {"status": "deferred",
                                  "deliver_after": datetime(2026, 7, 2, 7, 0, tzinfo=timezone.utc)}


def test_an_event_without_its_customer_is_acknowledged_and_writes_nothing(deliver, mongo_db):
    assert deliver(_event("bill.due", {"bill_id": "b1"})) == "processed"
    assert mongo_db.notifications.count_documents({}) == 0


def risk(event_type: str, customer_id: str, rules=("large_amount",)) -> dict:
    return _event(event_type, {"customer_id": customer_id, "transfer_id": str(uuid.uuid4()), "amount": "12000.00",
                               "currency": "EUR", "from_account_id": "acc-1", "rules": list(rules)})


def test_the_risk_rules_decisions_raise_suspicious_activity(alice, deliver, mongo_db):
    for event_type in ("transfer.flagged", "transfer.review", "transfer.rejected"):
        assert deliver(risk(event_type, alice.customer_id, ("large_amount", "new_payee_large"))) == "processed"
    inbox = _inbox(mongo_db, alice.customer_id)
    assert [kind for kind, _ in inbox] == ["suspicious_activity"] * 3
    messages = " | ".join(message for _, message in inbox)
    assert "12000.00 EUR is held for review (large_amount, new_payee_large)" in messages
    assert "was refused by our security checks" in messages and "went through and was flagged" in messages


def test_suspicious_activity_switched_off_raises_nothing_for_risk_events(alice, deliver, mongo_db):
    alice.patch(SETTINGS, {"events": {"suspicious_activity": {"enabled": False}}})
    assert deliver(risk("transfer.review", alice.customer_id)) == "processed"
    assert _inbox(mongo_db, alice.customer_id) == []


def test_a_budget_exceeded_raises_budget_exceeded_once(alice, deliver, mongo_db):
    event = _event("budget.exceeded", {"customer_id": alice.customer_id, "budget_id": str(uuid.uuid4()),
                                       "month": "2026-12", "category": "groceries", "currency": "EUR",
                                       "limit": "300.00", "spent": "300.01"})
    assert [deliver(event), deliver(event)] == ["processed", "duplicate"]
    assert _inbox(mongo_db, alice.customer_id) == [(
        "budget_exceeded", "You have spent 300.01 EUR on groceries in 2026-12, past your budget of 300.00 EUR.")]
