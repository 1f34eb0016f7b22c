"""The purge deletes in bounded batches and removes exactly what purge_expired would."""
from datetime import datetime, timedelta, timezone

from services.preferences.purge import main, purge_in_batches

NOW = datetime.now(timezone.utc)


def _seed(mongo_db, old=5, recent=2):
    mongo_db.processed_events.insert_many(
        [{"event_id": f"old-{n}", "event_type": "t", "received_at": NOW - timedelta(days=31)} for n in range(old)]
        + [{"event_id": f"new-{n}", "event_type": "t", "received_at": NOW - timedelta(days=29)} for n in range(recent)])


def test_batches_of_two_remove_every_expired_document(mongo_db, monkeypatch):
    _seed(mongo_db)
    deletes = []
    real = type(mongo_db.processed_events).delete_many

    def counting(collection, query, *args, **kwargs):
        deletes.append(len(query["_id"]["$in"]))
        return real(collection, query, *args, **kwargs)

    monkeypatch.setattr(type(mongo_db.processed_events), "delete_many", counting)
    assert purge_in_batches(mongo_db, NOW, batch_size=2) == {"notifications": 0, "processed_events": 5}
    assert max(deletes) == 2 and sum(deletes) == 5
    assert sorted(e["event_id"] for e in mongo_db.processed_events.find()) == ["new-0", "new-1"]


def test_the_command_takes_a_batch_size(mongo_db, mongo_url, capsys):
    from conftest import TEST_MONGO_DB
    _seed(mongo_db, old=3, recent=1)
    assert main(["--url", mongo_url, "--db", TEST_MONGO_DB, "--batch-size", "2"]) == 0
    assert "0 notifications, 3 processed_events removed" in capsys.readouterr().out
    assert mongo_db.processed_events.count_documents({}) == 1
