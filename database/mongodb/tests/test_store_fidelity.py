"""Does the store behave like MongoDB where our services depend on it?

Each test is built to fail on a lossy server: lost $inc updates, a
compare-and-set that lets two writers win, a unique index that admits
duplicates, or decimals squeezed through a double.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128
from pymongo.errors import DuplicateKeyError

THREADS = 8


def _run_together(fn, n: int = THREADS) -> list:
    """Run fn(thread_index) in n threads released at the same moment."""
    barrier = threading.Barrier(n)

    def worker(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(worker, range(n)))  # re-raises a worker's exception


def test_concurrent_inc_loses_no_update(fresh_mongo_db):
    coll = fresh_mongo_db.counters
    coll.insert_one({"_id": "c", "n": 0})

    def bump(_):
        for _ in range(50):
            coll.update_one({"_id": "c"}, {"$inc": {"n": 1}})

    _run_together(bump)
    assert coll.find_one({"_id": "c"})["n"] == THREADS * 50


def test_compare_and_set_has_exactly_one_winner(fresh_mongo_db):
    coll = fresh_mongo_db.accounts
    coll.insert_one({"_id": "acct", "version": 0, "log": []})
    per_thread = 25
    deadline = time.monotonic() + 120  # a broken server must fail, not hang

    def writer(tid):
        landed = attempts = 0
        while landed < per_thread:
            assert time.monotonic() < deadline, f"thread {tid} stuck after {attempts} attempts"
            attempts += 1
            v = coll.find_one({"_id": "acct"}, {"version": 1})["version"]
            res = coll.update_one({"_id": "acct", "version": v},
                                  {"$set": {"version": v + 1}, "$push": {"log": tid}})
            landed += res.modified_count
        return attempts

    attempts = _run_together(writer)
    doc = coll.find_one({"_id": "acct"})
    assert doc["version"] == THREADS * per_thread
    assert len(doc["log"]) == THREADS * per_thread
    assert Counter(doc["log"]) == {tid: per_thread for tid in range(THREADS)}
    # Not a correctness claim, just evidence that the threads really contended.
    print(f"CAS attempts per thread: {attempts}")


def test_unique_index_rejects_duplicate(fresh_mongo_db):
    coll = fresh_mongo_db.preferences
    coll.create_index("customer_id", unique=True)
    coll.insert_one({"customer_id": "c-1", "version": 1})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"customer_id": "c-1", "version": 2})
    assert coll.count_documents({}) == 1
    assert coll.find_one({"customer_id": "c-1"})["version"] == 1


def test_unique_index_under_concurrent_inserts(fresh_mongo_db):
    coll = fresh_mongo_db.processed_events
    coll.create_index("event_id", unique=True)

    def insert(_):
        try:
            coll.insert_one({"event_id": "evt-1"})
            return True
        except DuplicateKeyError:
            return False

    assert sum(_run_together(insert)) == 1
    assert coll.count_documents({"event_id": "evt-1"}) == 1


@pytest.mark.parametrize("text", [
    "0.1",                                   # not representable as a double
    "0.10",                                  # trailing zero (scale) must survive
    "-1234567890123456789.012345678901234",  # 34 significant digits
    "9.999999999999999999999999999999999E+6144",
    "1E-6176",
    "-0",
])
def test_decimal128_round_trips_exactly(fresh_mongo_db, text):
    coll = fresh_mongo_db.amounts
    coll.insert_one({"_id": text, "amount": Decimal128(text)})
    back = coll.find_one({"_id": text})["amount"]
    assert isinstance(back, Decimal128)
    assert str(back) == str(Decimal128(text))
    assert back.to_decimal().as_tuple() == Decimal(text).as_tuple()
    # and it matches by value in a query
    assert coll.count_documents({"amount": Decimal128(text)}) == 1
