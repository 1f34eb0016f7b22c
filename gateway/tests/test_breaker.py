"""The circuit breaker on its own (a fake clock), and wired to an upstream over real HTTP."""
import time

import pytest
from flask import Flask

from devstack.stack import free_port
from gateway.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpen
from tests.support.servers import serving

from .conftest import bearer, gateway_for


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_opens_after_consecutive_failures_only():
    breaker = CircuitBreaker(threshold=3, reset_seconds=5, clock=Clock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success in between starts the count again
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == CLOSED
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == OPEN
    with pytest.raises(CircuitOpen) as raised:
        breaker.before_call()
    assert raised.value.retry_after == pytest.approx(5)


def test_one_probe_after_the_cool_down_and_success_closes():
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, reset_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.state == HALF_OPEN
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # everyone else still fails fast while it runs
    breaker.record_success()
    assert breaker.state == CLOSED
    breaker.before_call()


def test_a_failed_probe_opens_for_another_cool_down():
    clock = Clock()
    breaker = CircuitBreaker(threshold=2, reset_seconds=5, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 6
    breaker.before_call()
    breaker.record_failure()  # one failure is enough in half-open
    assert breaker.state == OPEN
    clock.now += 4
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.now += 1
    breaker.before_call()


def counting_upstream(status_for):
    app = Flask("transactions")
    hits = {"GET": 0, "POST": 0}

    @app.route("/api/v1/currencies", methods=["GET", "POST"])
    def currencies():
        from flask import request
        hits[request.method] += 1
        return status_for(hits)
    return app, hits


def test_writes_are_not_retried_reads_are_and_an_open_breaker_stops_calling():
    app, hits = counting_upstream(lambda _hits: ("overloaded", 503, {"Content-Type": "text/plain"}))
    with serving(app) as upstream:
        gateway = gateway_for(transactions=upstream.url, BREAKER_FAILURE_THRESHOLD=2).test_client()
        post = gateway.post("/api/v1/currencies", json={}, headers=bearer())
        assert post.status_code == 503 and hits["POST"] == 1
        get = gateway.get("/api/v1/currencies", headers=bearer())
        assert get.status_code == 503 and hits["GET"] == 3  # the ServiceClient's two retries
        started = time.monotonic()
        refused = gateway.get("/api/v1/currencies", headers=bearer())
        assert time.monotonic() - started < 0.1
    assert refused.status_code == 503 and refused.get_json()["code"] == "service_unavailable"
    assert "circuit open" in refused.get_json()["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert hits == {"GET": 3, "POST": 1}


def test_a_services_own_problem_passes_through_and_does_not_trip_the_breaker():
    problem = ('{"code": "service_unavailable", "detail": "The ledger cannot tell the balance right now."}', 503,
               {"Content-Type": "application/problem+json"})
    app, hits = counting_upstream(lambda _hits: problem)
    with serving(app) as upstream:
        gateway = gateway_for(transactions=upstream.url, BREAKER_FAILURE_THRESHOLD=1).test_client()
        for _ in range(3):
            response = gateway.post("/api/v1/currencies", json={}, headers=bearer())
            assert response.status_code == 503
            assert response.get_json()["detail"] == "The ledger cannot tell the balance right now."
    assert hits["POST"] == 3


def test_per_upstream_timeouts_override_the_default():
    slow = Flask("slow")

    @slow.get("/api/v1/currencies")
    def currencies():
        time.sleep(0.6)
        return []
    with serving(slow) as upstream:
        patient = gateway_for(transactions=upstream.url, TRANSACTIONS_READ_TIMEOUT=2.0).test_client()
        assert patient.get("/api/v1/currencies", headers=bearer()).status_code == 200
        hasty = gateway_for(transactions=upstream.url, TRANSACTIONS_READ_TIMEOUT=0.2).test_client()
        assert hasty.get("/api/v1/currencies", headers=bearer()).status_code == 503


def test_a_refused_connection_counts_and_opens_the_breaker():
    gateway = gateway_for(accounts=f"http://127.0.0.1:{free_port()}", BREAKER_FAILURE_THRESHOLD=2).test_client()
    for _ in range(2):
        assert "circuit" not in gateway.get("/api/v1/me", headers=bearer()).get_json()["detail"]
    assert "circuit open" in gateway.get("/api/v1/me", headers=bearer()).get_json()["detail"]
