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


def _count_marker_writes(monkeypatch) -> Counter:
    writes: Counter = Counter()
    for method in ("insert_one", "insert_many"):
        original = getattr(Collection, method)

        def counted(self, *args, _original=original, _method=method, **kwargs):
            if self.name == "processed_events":
                writes[_method] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(Collection, method, counted)
    return writes


def test_a_batch_writes_its_processed_markers_with_one_insert(client, alice, mongo_db, monkeypatch):
    events = [debit(alice.customer_id, "1.00", f"{900 - n}.00") for n in range(5)]
    writes = _count_marker_writes(monkeypatch)
    assert _post_batch(client, events) == ["processed"] * 5
    assert writes == Counter({"insert_many": 1}), writes
    monkeypatch.undo()
    marked = {d["event_id"] for d in mongo_db.processed_events.find({"event_id": {"$in": [e["id"] for e in events]}})}
    assert marked == {e["id"] for e in events}


def test_a_marker_another_delivery_wrote_first_answers_duplicate(client, alice, mongo_db, monkeypatch):
    from services.preferences import events as handlers
    raced, other = debit(alice.customer_id, "80.00", "20.00"), debit(alice.customer_id, "1.00", "19.00")
    real = handlers.HANDLERS["transfer.posted"]

    def concurrent_delivery(db, data, event_id):
        real(db, data, event_id)
        if event_id == raced["id"]:  # a second delivery of the same event finished meanwhile
            db.processed_events.insert_one({"event_id": event_id, "event_type": "transfer.posted",
                                            "source": "transactions"})
    monkeypatch.setitem(handlers.HANDLERS, "transfer.posted", concurrent_delivery)
    assert _post_batch(client, [raced, other]) == ["duplicate", "processed"]
    assert mongo_db.processed_events.count_documents({"event_id": {"$in": [raced["id"], other["id"]]}}) == 2


def test_markers_the_store_did_not_take_come_again_and_apply_once(client, alice, mongo_db, monkeypatch):
    from pymongo.errors import AutoReconnect
    event = debit(alice.customer_id, "95.00", "5.00")  # under the default threshold: one low_balance
    repeat = dict(event)

    def refused(self, *args, **kwargs):
        raise AutoReconnect("connection closed")
    monkeypatch.setattr(Collection, "insert_many", refused)
    response = client.post("/internal/events", json={"events": [event, repeat]},
                           headers=auth_header("preferences", caller="transactions"))
    assert [(r["status"], r.get("detail")) for r in response.get_json()["results"]] == \
        [("retry", "the processed marker was not stored")] * 2
    monkeypatch.undo()
    assert mongo_db.processed_events.count_documents({"event_id": event["id"]}) == 0
    assert _post_batch(client, [event]) == ["processed"]  # the relay sends it again
    assert _post_batch(client, [event]) == ["duplicate"]
    assert [n["kind"] for n in mongo_db.notifications.find({"customer_id": alice.customer_id})] == ["low_balance"]
