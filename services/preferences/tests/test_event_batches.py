"""A batch of events is applied as each event alone would be, with the batch's duplicate
check and settings read once (domain/event_batch.py)."""
from collections import Counter

from pymongo.collection import Collection

from tests.support.tokens import auth_header

from .factories import debit

SETTINGS = "/api/v1/notification-settings"


def _post_batch(client, events):
    response = client.post("/internal/events", json={"events": events},
                           headers=auth_header("preferences", caller="transactions"))
    assert response.status_code == 200, response.get_json()
    return [r["status"] for r in response.get_json()["results"]]


def _count_reads(monkeypatch) -> Counter:
    reads: Counter = Counter()
    for method in ("find", "find_one"):
        original = getattr(Collection, method)

        def counted(self, *args, _original=original, **kwargs):
            reads[self.name] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(Collection, method, counted)
    return reads


def test_a_batch_reads_processed_events_and_settings_once(client, alice, bob, mongo_db, monkeypatch):
    alice.patch(SETTINGS, {"events": {"low_balance": {"threshold": "50"}}})
    events = [debit(alice.customer_id, "30.00", "40.00"), debit(bob.customer_id, "30.00", "80.00"),
              debit(alice.customer_id, "1.00", "39.00", flags=("suspicious",))]
    reads = _count_reads(monkeypatch)
    assert _post_batch(client, events + [events[0]]) == ["processed", "processed", "processed", "duplicate"]
    # One read of each for the four events, none per event.
    assert reads["processed_events"] == 1 and reads["notification_settings"] == 1, reads
    monkeypatch.undo()
    # Alice's own threshold (50) and bob's default (100) applied; alice's second debit was
    # already under hers; the flagged one is suspicious.
    assert sorted(n["kind"] for n in mongo_db.notifications.find({"customer_id": alice.customer_id})) == \
        ["low_balance", "suspicious_activity"]
    assert [n["kind"] for n in mongo_db.notifications.find({"customer_id": bob.customer_id})] == ["low_balance"]
    assert _post_batch(client, events) == ["duplicate"] * 3
