"""GET /api/v1/notifications (cursor pages, unread filter) and POST .../{id}/read."""
from datetime import datetime, timedelta, timezone

import pytest

from .factories import debit, notification

PATH = "/api/v1/notifications"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _store(mongo_db, customer_id, count, same_time_every=1, read_every=0):
    docs = [notification(customer_id, T0 + timedelta(minutes=i // same_time_every),
                         read_at=T0 if read_every and i % read_every == 0 else None)
            for i in range(count)]
    mongo_db.notifications.insert_many(docs)
    return docs


def _all_pages(customer, query=""):
    ids, cursor, pages = [], None, 0
    while True:
        url = f"{PATH}?{query}" + (f"&cursor={cursor}" if cursor else "")
        body = customer.get(url).get_json()
        ids += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages


def test_newest_first_in_cursor_pages_with_ties_on_the_timestamp(alice, mongo_db):
    docs = _store(mongo_db, alice.customer_id, 7, same_time_every=2)
    expected = [d["_id"] for d in sorted(docs, key=lambda d: (d["created_at"], d["_id"]),
                                         reverse=True)]
    ids, pages = _all_pages(alice, "limit=3")
    assert ids == expected and pages == 3


def test_an_item_looks_like_the_contract(alice, deliver):
    deliver(debit(alice.customer_id, "30.00", "80.00"))
    body = alice.get(PATH).get_json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert set(item) == {"id", "kind", "title", "message", "data", "channels", "delivery",
                         "created_at", "read_at"}
    assert item["kind"] == "low_balance" and item["read_at"] is None
    assert item["data"]["amount"] == "-30.00" and item["created_at"].endswith("+00:00")


def test_unread_filter_and_count(alice, mongo_db):
    _store(mongo_db, alice.customer_id, 6, read_every=3)
    ids, _pages = _all_pages(alice, "unread=true&limit=2")
    assert len(ids) == 4
    assert alice.get(f"{PATH}/unread-count").get_json() == {"unread": 4}


def test_default_page_is_50(alice, mongo_db):
    _store(mongo_db, alice.customer_id, 51)
    body = alice.get(PATH).get_json()
    assert len(body["items"]) == 50 and body["next_cursor"]


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=501", "limit"),
                                          ("limit=ten", "limit"), ("cursor=bm9wZQ", "cursor"),
                                          ("unread=perhaps", "unread")])
def test_bad_query_parameters_are_422(alice, query, field):
    response = alice.get(f"{PATH}?{query}")
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_marking_read_is_204_idempotent_and_keeps_the_first_read_time(alice, mongo_db):
    [doc] = _store(mongo_db, alice.customer_id, 1)
    assert alice.post(f"{PATH}/{doc['_id']}/read").status_code == 204
    first = mongo_db.notifications.find_one({"_id": doc["_id"]})["read_at"]
    assert alice.post(f"{PATH}/{doc['_id']}/read").status_code == 204
    assert mongo_db.notifications.find_one({"_id": doc["_id"]})["read_at"] == first
    assert alice.get(f"{PATH}?unread=true").get_json()["items"] == []


def test_another_customers_notification_is_404_and_stays_unread(alice, bob, mongo_db):
    [doc] = _store(mongo_db, alice.customer_id, 1)
    response = bob.post(f"{PATH}/{doc['_id']}/read")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert bob.post(f"{PATH}/no-such-id/read").status_code == 404
    assert mongo_db.notifications.find_one({"_id": doc["_id"]})["read_at"] is None
    assert bob.get(PATH).get_json() == {"items": [], "next_cursor": None}
