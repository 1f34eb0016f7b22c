"""One request, one trace, across the four apps: the gateway, the service it calls, and the
services its events reach through the outbox. A suite of this module's own exports to an
OTLP receiver in this process, as the apps would to an OpenTelemetry Collector (the shared
`suite` exports nothing, so it records nothing: tracing.py's default sampler)."""
import json
import uuid

import pytest
import requests

from devstack.stack import migrate, prepare_databases
from tests.support.clients import eventually, sign_up
from tests.support.otlp_collector import OtlpCollector
from tests.support.suite import start_suite

pytestmark = pytest.mark.e2e

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP span kinds
CLIENT_TRACE = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"


@pytest.fixture(scope="module")
def trace_collector():
    collector = OtlpCollector()
    yield collector
    collector.stop()


@pytest.fixture(scope="module")
def traced(stores, trace_collector, tmp_path_factory):
    """The four apps, on databases of their own, exporting every span to trace_collector."""
    databases = prepare_databases(stores, prefix="traced_")
    migrate(databases, stores.mongo_url, "traced_preferences", log=lambda _m: None)
    apps = start_suite(stores, databases, "traced_preferences", tmp_path_factory.mktemp("traced-logs"),
                       extra=trace_collector.environment())
    yield apps
    apps.stop()


@pytest.fixture(scope="module")
def opened(traced):
    """A customer opens an account; the answer's request id finds the trace."""
    gateway = traced.url("gateway")
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


def _log_lines(apps, request_id: str) -> list[dict]:
    """The JSON log lines of the gateway and the accounts service naming `request_id`."""
    lines = []
    for service in ("gateway", "accounts"):
        for raw in (apps.log_dir / f"{service}.log").read_text(errors="replace").splitlines():
            if raw.startswith("{") and request_id in raw:
                lines.append(json.loads(raw))
    return lines


def _opening_trace(traced, collector, opened) -> str:
    """The trace of the opening, by the gateway's log line of its request id, once the four
    apps' spans of it have arrived."""
    request_id = opened.headers["X-Request-ID"]
    gateway_line = eventually(lambda: [line for line in _log_lines(traced, request_id)
                                       if line["service"] == "gateway"], timeout=10)
    assert gateway_line, f"no gateway log line for {request_id}"
    trace_id = gateway_line[0]["trace_id"]
    # A span is exported when it ends, children before their parents: wait for the parents.
    expected = {("gateway", SERVER), ("accounts", SERVER), ("transactions", CONSUMER), ("preferences", CONSUMER)}
    arrived = collector.wait_for(lambda c: expected <= {(s.service, s.kind) for s in c.spans(trace_id)})
    assert arrived, sorted({(s.service, s.name) for s in collector.spans(trace_id)})
    return trace_id


def test_one_request_is_one_trace_across_the_four_apps(traced, trace_collector, opened):
    trace_id = _opening_trace(traced, trace_collector, opened)
    spans = _spans_by_service(trace_collector, trace_id)
    gateway_server = [s for s in spans["gateway"] if s.kind == SERVER]
    assert len(gateway_server) == 1 and gateway_server[0].parent_span_id == ""  # the trace's root
    assert gateway_server[0].attributes["http.target"] == "/api/v1/accounts"
    # The gateway's call to the accounts service is the parent of that service's server span.
    gateway_calls = {s.span_id for s in spans["gateway"] if s.kind == CLIENT}
    accounts_server = [s for s in spans["accounts"] if s.kind == SERVER]
    assert accounts_server and accounts_server[0].parent_span_id in gateway_calls
    # Its statements are spans of the same trace.
    assert any(s.attributes.get("db.system") == "postgresql" for s in spans["accounts"]), spans["accounts"]
    # account.opened reached the ledger and preferences through the outbox: each applied it
    # in a consumer span of this trace, with its own statements / MongoDB commands under it.
    for service, store in (("transactions", "postgresql"), ("preferences", "mongodb")):
        consumers = {s.span_id: s for s in spans[service] if s.kind == CONSUMER}
        # (A redelivery, acknowledged as a duplicate, would be a second consumer span.)
        assert {s.attributes["finova.event.type"] for s in consumers.values()} == {"account.opened"}, service
        children = [s for s in spans[service] if s.parent_span_id in consumers]
        assert any(s.attributes.get("db.system") == store for s in children), (service, children)


def test_a_public_clients_trace_headers_are_not_continued(traced, trace_collector, opened):
    trace_id = _opening_trace(traced, trace_collector, opened)
    assert trace_id != CLIENT_TRACE.split("-")[1]
    assert not trace_collector.spans(CLIENT_TRACE.split("-")[1])


def test_the_relays_delivery_links_the_events_trace(traced, trace_collector, opened):
    trace_id = _opening_trace(traced, trace_collector, opened)

    def sends():
        return [s for s in trace_collector.spans() if s.kind == PRODUCER and s.service == "accounts"
                and trace_id in s.links]
    destinations = eventually(lambda: {s.attributes["messaging.destination.name"] for s in sends()}
                              >= {"transactions", "preferences"} and sends(), timeout=20)
    assert destinations, f"the relay's deliveries linking the opening's trace: {sends()}"


def test_every_log_line_of_the_request_carries_its_trace_id(traced, trace_collector, opened):
    trace_id = _opening_trace(traced, trace_collector, opened)
    lines = eventually(lambda: len(_log_lines(traced, opened.headers["X-Request-ID"])) >= 2
                       and _log_lines(traced, opened.headers["X-Request-ID"]), timeout=10)
    assert lines and {line["service"] for line in lines} == {"gateway", "accounts"}
    assert all(line["trace_id"] == trace_id and len(line["span_id"]) == 16 for line in lines), lines
    # Each line's span is a span of the trace that the apps exported.
    exported = {s.span_id for s in trace_collector.spans(trace_id)}
    assert {line["span_id"] for line in lines} <= exported


def test_an_event_envelope_with_a_malformed_traceparent_is_rejected_alone(traced):
    """The envelope's trace fields are checked like the rest: a bad one rejects that event only."""
    from services.common.http_client import ServiceClient
    from devstack.stack import development_internal_keys
    client = ServiceClient(traced.url("preferences"), audience="preferences", caller="transactions",
                           secret=development_internal_keys()["transactions"])
    good = {"id": str(uuid.uuid4()), "type": "no.such.event", "source": "transactions",
            "occurred_at": "2026-12-04T00:00:00+00:00", "data": {}, "traceparent": CLIENT_TRACE}
    bad = {**good, "id": str(uuid.uuid4()), "traceparent": "00-not-a-trace"}
    answer = client.post("/internal/events", json={"events": [good, bad]})
    assert answer.status_code == 200, answer.text
    statuses = {r["id"]: r["status"] for r in answer.json()["results"]}
    assert statuses == {good["id"]: "processed", bad["id"]: "rejected"}
