"""Tracing's own rules, in process: the trace context an event carries, the consumer span that
continues it, and what a malformed context does (nothing). The suite-wide trace is in
tests/e2e/test_tracing.py."""
import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common import tracing
from services.common.logs import configure_logging


@pytest.fixture
def exported(monkeypatch):
    """tracing's spans from a provider of the test's own that records every span (the
    process's provider, set once by the first app, records nothing without an exporter)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", lambda: provider.get_tracer("tests"))
    return exporter


@pytest.fixture
def spans(exported):
    return exported


def test_outside_a_trace_an_event_carries_no_trace_fields(spans):
    assert tracing.trace_fields() == {}
    assert tracing.current_ids() == (None, None)


def test_an_event_published_in_a_trace_is_processed_in_that_trace(spans):
    with tracing.tracer().start_as_current_span("publishing request") as publisher:
        fields = tracing.trace_fields()
    assert tracing.TRACEPARENT_PATTERN.match(fields["traceparent"])
    with tracing.tracer().start_as_current_span("delivery") as delivery:
        with tracing.consuming({"id": "e1", "type": "transfer.posted", "source": "transactions", **fields}):
            pass
    consumer = next(s for s in spans.get_finished_spans() if s.name == "process transfer.posted")
    assert consumer.kind == trace.SpanKind.CONSUMER
    assert consumer.context.trace_id == publisher.get_span_context().trace_id
    assert consumer.parent.span_id == publisher.get_span_context().span_id
    assert [link.context.span_id for link in consumer.links] == [delivery.get_span_context().span_id]
    assert consumer.attributes["messaging.message.id"] == "e1"


@pytest.mark.parametrize("traceparent", [
    "00-not-hex", "00-" + "0" * 32 + "-" + "1" * 16 + "-01", 7, None, "00-" + "A" * 32 + "-" + "1" * 16 + "-01",
    "00-" + "a" * 32 + "-" + "1" * 16 + "-01\n",
])
def test_a_malformed_or_invalid_trace_context_is_ignored(spans, traceparent):
    with tracing.tracer().start_as_current_span("delivery") as delivery:
        with tracing.consuming({"id": "e2", "type": "x", "traceparent": traceparent, "tracestate": "k=" + "v" * 600}):
            pass
    consumer = next(s for s in spans.get_finished_spans() if s.name == "process x")
    # Under the delivery: a bad context neither breaks processing nor picks the trace.
    assert consumer.context.trace_id == delivery.get_span_context().trace_id


def test_the_relays_send_links_each_events_trace(spans):
    contexts = []
    for _ in range(2):
        with tracing.tracer().start_as_current_span("request") as request:
            contexts.append((request.get_span_context(), tracing.trace_fields()))
    with tracing.delivering("preferences", [fields for _, fields in contexts] + [{"id": "no trace"}]):
        pass
    send = next(s for s in spans.get_finished_spans() if s.name == "send preferences")
    assert send.kind == trace.SpanKind.PRODUCER
    assert [link.context.trace_id for link in send.links] == [c.trace_id for c, _ in contexts]
    assert send.attributes["messaging.batch.message_count"] == 3


def test_log_lines_carry_the_trace_and_span_ids(exported, capsys):
    configure_logging("tests")
    with tracing.tracer().start_as_current_span("request") as span:
        logging.getLogger("tests.tracing").warning("inside")
    logging.getLogger("tests.tracing").warning("outside")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    inside = next(line for line in lines if line["message"] == "inside")
    outside = next(line for line in lines if line["message"] == "outside")
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert outside["trace_id"] is None and outside["span_id"] is None


def test_the_edge_drops_a_clients_trace_headers():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return []
    tracing.untrusted_trace_headers(app)({"HTTP_TRACEPARENT": "00-x", "HTTP_TRACESTATE": "a=b",
                                          "HTTP_BAGGAGE": "k=v", "HTTP_X_REQUEST_ID": "r1"}, None)
    assert seen == {"HTTP_X_REQUEST_ID": "r1"}


def test_without_an_exporter_spans_get_ids_but_record_nothing(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    provider = TracerProvider(sampler=tracing._default_sampler(exporting=False))
    with provider.get_tracer("tests").start_as_current_span("request") as span:
        assert not span.is_recording()
        assert tracing.current_ids()[0] is not None
        flags = int(tracing.trace_fields()["traceparent"].rsplit("-", 1)[1], 16)
        assert flags & 1 == 0  # propagated, marked not sampled
    assert tracing._default_sampler(exporting=True) is None             # the SDK's: always on
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    assert tracing._default_sampler(exporting=False) is None            # the environment decides


def test_the_exporter_is_chosen_by_the_environment():
    assert tracing._span_processor("none") is None
    assert tracing._span_processor("") is None
    assert tracing._span_processor("zipkin-typo") is None
    assert tracing._span_processor("console") is not None


def test_store_spans_are_made_only_under_a_span_that_records():
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    requests_tracer = provider.get_tracer("tests")
    statements = tracing.LeafSpans(provider).get_tracer("tests.store")

    with requests_tracer.start_as_current_span("request"):
        with statements.start_as_current_span("SELECT") as recorded:
            assert recorded.is_recording()
        statements.start_span("find").end()
    with statements.start_as_current_span("UPDATE outbox") as orphan:  # outside any request
        assert orphan is trace.INVALID_SPAN
    assert statements.start_span("insert") is trace.INVALID_SPAN
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["SELECT", "find", "request"]
    select = next(s for s in exporter.get_finished_spans() if s.name == "SELECT")
    assert select.parent.span_id == next(s for s in exporter.get_finished_spans()
                                         if s.name == "request").context.span_id

    unsampled = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    unsampled.add_span_processor(SimpleSpanProcessor(exporter))
    exporter.clear()
    with unsampled.get_tracer("tests").start_as_current_span("request") as request:
        assert request.get_span_context().is_valid and not request.is_recording()
        with tracing.LeafSpans(unsampled).get_tracer("store").start_as_current_span("SELECT") as span:
            assert span is trace.INVALID_SPAN  # no span built for a statement nobody keeps
    assert exporter.get_finished_spans() == ()
