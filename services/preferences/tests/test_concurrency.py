"""Concurrent writers over real HTTP: PATCHes of different fields never lose one."""
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.servers import serving
from tests.support.tokens import auth_header

THREADS = 6
WRITES_PER_THREAD = 5


def _together(fn, n: int = THREADS) -> list:
    barrier = threading.Barrier(n)

    def worker(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(worker, range(n)))


def test_concurrent_patches_of_different_fields_all_land(preferences_app):
    customer = "cust-concurrent"
    # Each thread owns one field; every write of every thread must be visible at the end.
    fields = [("events", "low_balance", "threshold"), ("events", "large_transaction", "threshold"),
              ("events", "suspicious_activity", "enabled"), ("events", "bill_due", "enabled"),
              ("channels", "email", "address"), ("quiet_hours", "start")]

    def value(thread: int, n: int):
        return {"threshold": f"{thread}{n}.00", "enabled": n % 2 == 1,
                "address": f"w{n}@example.com", "start": f"1{n}:00"}[fields[thread][-1]]

    with serving(preferences_app) as server, requests.Session() as session:
        url = f"{server.url}/api/v1/notification-settings"

        def writer(thread: int) -> list[int]:
            statuses = []
            for n in range(WRITES_PER_THREAD):
                patch: dict = {}
                node = patch
                for key in fields[thread][:-1]:
                    node = node.setdefault(key, {})
                node[fields[thread][-1]] = value(thread, n)
                response = session.patch(url, json=patch, timeout=60,
                                         headers=auth_header("preferences", subject=customer))
                statuses.append(response.status_code)
            return statuses

        statuses = _together(writer)
        final = session.get(url, headers=auth_header("preferences", subject=customer), timeout=60)

    assert all(s == 200 for per_thread in statuses for s in per_thread), statuses
    document = final.json()
    for thread, path in enumerate(fields):
        node = document
        for key in path:
            node = node[key]
        assert node == value(thread, WRITES_PER_THREAD - 1), (path, node)
    # Every PATCH changed something, so each made exactly one new version.
    assert final.headers["ETag"] == f'"v{THREADS * WRITES_PER_THREAD}"'


def test_writers_with_the_same_if_match_have_exactly_one_winner(preferences_app):
    customer = "cust-if-match"
    themes = ["dark", "light", "system", "dark", "light", "system"]
    with serving(preferences_app) as server, requests.Session() as session:
        url = f"{server.url}/api/v1/preferences"
        session.patch(url, json={"theme": "light"},
                      headers=auth_header("preferences", subject=customer), timeout=60)

        def writer(thread: int) -> int:
            headers = {**auth_header("preferences", subject=customer), "If-Match": '"v1"'}
            return session.patch(url, json={"theme": themes[thread], "date_format": "DD.MM.YYYY"},
                                 headers=headers, timeout=60).status_code

        statuses = _together(writer)
        final = session.get(url, headers=auth_header("preferences", subject=customer), timeout=60)
    assert sorted(statuses) == [200] + [412] * (THREADS - 1)
    assert final.headers["ETag"] == '"v2"'


def test_concurrent_patches_of_different_preferences_all_land(preferences_app):
    customer = "cust-concurrent-preferences"
    # Thread i writes only its own member, cycling through values; the last one must stay.
    values = {"language": ["fr", "de-CH", "pt-BR"], "timezone": ["Asia/Tokyo", "Europe/Paris",
                                                                   "America/Sao_Paulo"],
              "display_currency": ["JPY", "CHF", "BRL"], "theme": ["dark", "light", "dark"],
              "date_format": ["DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY"],
              "dashboard_widgets": [["budgets"], ["accounts"], ["exchange_rates"]]}
    members = list(values)
    with serving(preferences_app) as server, requests.Session() as session:
        url = f"{server.url}/api/v1/preferences"
        headers = auth_header("preferences", subject=customer)

        def writer(thread: int) -> list[int]:
            member = members[thread]
            return [session.patch(url, json={member: value}, headers=headers,
                                  timeout=60).status_code for value in values[member]]

        statuses = _together(writer, n=len(members))
        final = session.get(url, headers=headers, timeout=60)
    assert all(s == 200 for per_thread in statuses for s in per_thread), statuses
    assert final.json() == {member: values[member][-1] for member in members}
    assert final.headers["ETag"] == f'"v{sum(len(v) for v in values.values())}"'
