"""One request, one trace, across the four apps: the gateway, the service it calls, and the
services its events reach through the outbox. The suite's apps export to an OTLP receiver in
this process (conftest.trace_collector), as they would to an OpenTelemetry Collector."""
import json
import uuid

import pytest
import requests

from tests.support.clients import eventually, sign_up

pytestmark = pytest.mark.e2e

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP span kinds
CLIENT_TRACE = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"


@pytest.fixture(scope="module")
def opened(suite):
    """A customer opens an account; the answer's request id finds the trace."""
    gateway = suite.url("gateway")
    customer = sign_up(gateway, "tracy")
    response = requests.post(gateway + "/api/v1/accounts", timeout=10,
                             headers={**customer["headers"], "traceparent": CLIENT_TRACE},
                             json={"type": "checking", "currency": "EUR"})
    assert response.status_code == 201, response.text
    return response


def _spans_by_service(collector, trace_id: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for span in collector.spans(trace_id):
        found.setdefault(span.service, []).append(span)
    return found


def _opening_trace(collector, opened) -> str:
    """The trace of the opening (one per module): the gateway's server span of POST
    /api/v1/accounts, once spans of all four apps have arrived in it."""
    def find(c):
        for span in c.spans():
            if (span.service == "gateway" and span.kind == SERVER and span.attributes.get("http.method") == "POST"
                    and span.attributes.get("http.target") == "/api/v1/accounts"):
                services = {s.service for s in c.spans(span.trace_id)}
                if {"gateway", "accounts", "transactions", "preferences"} <= services:
                    return span.trace_id
        return None
    trace_id = collector.wait_for(find)
    assert trace_id, sorted({(s.service, s.name) for s in collector.spans()})[:50]
    return trace_id


def test_one_request_is_one_trace_across_the_four_apps(trace_collector, opened):
    trace_id = _opening_trace(trace_collector, opened)
    spans = _spans_by_service(trace_collector, trace_id)
    gateway_server = [s for s in spans["gateway"] if s.kind == SERVER]
    assert len(gateway_server) == 1 and gateway_server[0].parent_span_id == ""  # the trace's root
    # The gateway's call to the accounts service is the parent of that service's server span.
    gateway_calls = {s.span_id for s in spans["gateway"] if s.kind == CLIENT}
    accounts_server = [s for s in spans["accounts"] if s.kind == SERVER]
    assert accounts_server and accounts_server[0].parent_span_id in gateway_calls
    # Its statements are spans of the same trace.
    assert any(s.attributes.get("db.system") == "postgresql" for s in spans["accounts"]), spans["accounts"]
    # account.opened reached the ledger and preferences through the outbox: each applied it
    # in a consumer span of this trace, with its own statements / MongoDB commands under it.
    for service, store in (("transactions", "postgresql"), ("preferences", "mongodb")):
        consumers = [s for s in spans[service] if s.kind == CONSUMER]
        assert [s.attributes["finova.event.type"] for s in consumers] == ["account.opened"], service
        children = [s for s in spans[service] if s.parent_span_id == consumers[0].span_id]
        assert any(s.attributes.get("db.system") == store for s in children), (service, children)


def test_a_public_clients_trace_headers_are_not_continued(trace_collector, opened):
    trace_id = _opening_trace(trace_collector, opened)
    assert trace_id != CLIENT_TRACE.split("-")[1]
    assert not trace_collector.spans(CLIENT_TRACE.split("-")[1])


def test_the_relays_delivery_links_the_events_trace(trace_collector, opened):
    trace_id = _opening_trace(trace_collector, opened)
    sends = eventually(lambda: [s for s in trace_collector.spans() if s.kind == PRODUCER
                                and s.service == "accounts" and trace_id in s.links], timeout=10)
    assert sends, "no relay delivery span links the opening's trace"
    assert {s.attributes["messaging.destination.name"] for s in sends} == {"transactions", "preferences"}


def test_every_log_line_of_the_request_carries_its_trace_id(suite, trace_collector, opened):
    trace_id = _opening_trace(trace_collector, opened)
    request_id = opened.headers["X-Request-ID"]

    def access_lines():
        lines = []
        for service in ("gateway", "accounts"):
            for raw in (suite.log_dir / f"{service}.log").read_text(errors="replace").splitlines():
                if raw.startswith("{") and request_id in raw:
                    lines.append(json.loads(raw))
        return lines
    lines = eventually(lambda: len(access_lines()) >= 2 and access_lines(), timeout=10)
    assert lines and {line["service"] for line in lines} == {"gateway", "accounts"}
    assert all(line["trace_id"] == trace_id and len(line["span_id"]) == 16 for line in lines), lines


def test_an_event_envelope_with_a_malformed_traceparent_is_rejected_alone(suite):
    """The envelope's trace fields are checked like the rest: a bad one rejects that event only."""
    from services.common.http_client import ServiceClient
    from devstack.stack import development_internal_keys
    client = ServiceClient(suite.url("preferences"), audience="preferences", caller="transactions",
                           secret=development_internal_keys()["transactions"])
    good = {"id": str(uuid.uuid4()), "type": "no.such.event", "source": "transactions",
            "occurred_at": "2026-12-04T00:00:00+00:00", "data": {}, "traceparent": CLIENT_TRACE}
    bad = {**good, "id": str(uuid.uuid4()), "traceparent": "00-not-a-trace"}
    answer = client.post("/internal/events", json={"events": [good, bad]})
    assert answer.status_code == 200, answer.text
    statuses = {r["id"]: r["status"] for r in answer.json()["results"]}
    assert statuses == {good["id"]: "processed", bad["id"]: "rejected"}
