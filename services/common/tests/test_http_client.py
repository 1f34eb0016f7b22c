"""The service-to-service client: timeouts, retries for idempotent methods only, request id."""
import time

import pytest
import requests
from flask import Flask, request

from devstack.stack import free_port
from services.common.http_client import ServiceClient
from services.common.request_id import set_request_id
from services.common.service_auth import verify_internal_token
from tests.support.servers import serving
from tests.support.tokens import TEST_SECRET


def flaky_upstream(failures: int):
    """Answers 503 to the first `failures` calls, then 200 with what it saw."""
    app = Flask("flaky")
    calls = []

    @app.route("/thing", methods=["GET", "POST"])
    def thing():
        calls.append(request.method)
        if len(calls) <= failures:
            return {"error": "busy"}, 503
        principal = verify_internal_token(request.headers["Authorization"].split()[1], TEST_SECRET, "flaky")
        return {"request_id": request.headers.get("X-Request-ID"), "subject": principal.subject,
                "roles": list(principal.roles), "caller": principal.caller}

    @app.get("/slow")
    def slow():
        time.sleep(2)
        return {}

    return app, calls


def client_for(url, **kwargs):
    return ServiceClient(url, audience="flaky", caller="tester", secret=TEST_SECRET, backoff=0.01, **kwargs)


def test_get_is_retried_and_carries_token_and_request_id():
    app, calls = flaky_upstream(failures=2)
    with serving(app) as server:
        set_request_id("req-7")
        try:
            response = client_for(server.url).get("/thing", subject="cust-1", roles=("admin",))
        finally:
            set_request_id(None)
    assert response.status_code == 200 and calls == ["GET", "GET", "GET"]
    assert response.json() == {"request_id": "req-7", "subject": "cust-1", "roles": ["admin"],
                               "caller": "tester"}


def test_post_is_never_retried():
    app, calls = flaky_upstream(failures=1)
    with serving(app) as server:
        response = client_for(server.url).post("/thing", json={})
    assert response.status_code == 503 and calls == ["POST"]


def test_read_timeout_is_enforced():
    app, _ = flaky_upstream(failures=0)
    with serving(app) as server:
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ConnectionError):
            client_for(server.url, read_timeout=0.3, retries=0).get("/slow")
    assert time.monotonic() - started < 1.5


def test_connection_refused_fails_fast():
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        client_for(f"http://127.0.0.1:{free_port()}", retries=1).get("/thing")
    assert time.monotonic() - started < 2


def test_calls_between_services_ignore_proxy_settings(monkeypatch):
    # A proxy named in the environment (nothing listens there) is not used: services talk
    # directly, and requests does not look the settings up again on every call.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    app, calls = flaky_upstream(failures=0)
    with serving(app) as server:
        assert client_for(server.url).get("/thing").status_code == 200
    assert calls == ["GET"]
