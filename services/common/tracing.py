"""OpenTelemetry tracing for every app: one trace per request, across services and events.

`init_tracing` (called by the app factory) sets up, once per process:
- a tracer provider named after the service (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
  add to it), sampled as OTEL_TRACES_SAMPLER says (unset: parent-based, always on when
  spans are exported, always off when they are not, see _default_sampler);
- the exporter OTEL_TRACES_EXPORTER names: `none` (the default, so a laptop sends nothing),
  `otlp` (OTLP over HTTP; the SDK reads OTEL_EXPORTER_OTLP_ENDPOINT, headers, timeout and
  compression) or `console`; spans leave in batches from a background thread
  (OTEL_BSP_* tune it), never on the request's path;
- the instrumentations of what every app runs: requests (every service call carries W3C
  `traceparent`) and, per app, Flask (a server span per request, continuing the caller's
  trace); each app names its store's (`instrumentors`): psycopg for the PostgreSQL services
  (a span per statement, its text but never its parameters), pymongo for preferences (a span
  per command), each only under a span that records (LeafSpans). Statements are traced at
  the driver: the SQLAlchemy instrumentation declares SQLAlchemy < 2.1 and imports its
  asyncio module, which 2.1 only loads with greenlet.
Ids are made even when nothing is exported or a trace is not sampled, so every log line
carries the trace and span ids (services/common/logs.py) and the W3C context still flows. OTEL_SDK_DISABLED=true
turns all of it off.

Events carry the trace across the outbox: `Outbox.publish` stores the publishing request's
`traceparent` (and `tracestate`) in the envelope, as the CloudEvents distributed-tracing
extension does; the receiver applies each event in a consumer span that continues that trace
and links the relay's delivery, so a transfer and the notification it causes are one trace.

The gateway does not continue a trace a public client sends (`untrusted_trace_headers`): a
client could otherwise pick trace ids or force sampling; its X-Request-ID is the correlation
a client controls.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

from opentelemetry import context, propagate, trace

log = logging.getLogger(__name__)

TRACE_FIELDS = ("traceparent", "tracestate")
# W3C Trace Context, version 00 and future versions (which parsers must read as 00).
TRACEPARENT_PATTERN = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")  # fullmatch
TRACESTATE_MAX_LENGTH = 512
# Probes and scrapes would be most of the spans and tell nothing.
EXCLUDED_URLS = "healthz,readyz,metrics"
TRACER_NAME = "finovabank"

_setup_lock = threading.Lock()
_setup_done = False


def tracing_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def init_tracing(app, service: str, instrumentors: tuple = ()) -> None:
    """The process's provider (once), the libraries' instrumentations (each once), then this
    app's requests. `instrumentors`: the classes of the app's store instrumentations."""
    if tracing_disabled():
        return
    _setup_process(service)
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    if not RequestsInstrumentor().is_instrumented_by_opentelemetry:  # a singleton per class
        RequestsInstrumentor().instrument()
    for instrumentor in instrumentors:
        if not instrumentor().is_instrumented_by_opentelemetry:
            instrumentor().instrument(tracer_provider=LeafSpans(trace.get_tracer_provider()))
    FlaskInstrumentor().instrument_app(app, excluded_urls=EXCLUDED_URLS)


class LeafSpans(trace.TracerProvider):
    """The stores' instrumentations trace through this: a statement or command span only
    under a span that records. Statement spans are leaves (nothing propagates from them), so
    one under a request that is not sampled could never be kept, yet it was built, entered
    and ended around every statement: with nothing exported that is every request, with a
    tenth sampled nine in ten. Measured in process, a statement's CPU drops from 190-199 µs
    to 151-184 µs with this (docs/benchmarks.md, issue 19). A statement outside any recorded
    span (the relay's claims, a command's) is not traced on its own either."""

    def __init__(self, provider: trace.TracerProvider):
        self._provider = provider

    def get_tracer(self, *args, **kwargs) -> trace.Tracer:
        return _LeafTracer(self._provider.get_tracer(*args, **kwargs))


class _LeafTracer(trace.Tracer):
    def __init__(self, tracer: trace.Tracer):
        self._tracer = tracer

    def start_span(self, name, context=None, *args, **kwargs) -> trace.Span:
        if not trace.get_current_span(context).is_recording():
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    @contextmanager
    def start_as_current_span(self, name, context=None, *args, **kwargs) -> Iterator[trace.Span]:
        if not trace.get_current_span(context).is_recording():
            yield trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


def _setup_process(service: str) -> None:
    global _setup_done
    with _setup_lock:
        if _setup_done:
            return
        _setup_done = True
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        # OTEL_SERVICE_NAME, when set, wins over the app's name (the SDK merges it last).
        resource = Resource.create({"service.name": service, "service.namespace": "finovabank"})
        processor = _span_processor(os.environ.get("OTEL_TRACES_EXPORTER", "none"))
        provider = TracerProvider(resource=resource, sampler=_default_sampler(processor is not None))
        if processor is not None:
            provider.add_span_processor(processor)
        trace.set_tracer_provider(provider)


def _default_sampler(exporting: bool):
    """OTEL_TRACES_SAMPLER's when set (None: the SDK reads it); else, with nothing to export
    to, parent-based always-off: spans still get ids (logs, traceparent) but record nothing.
    A recorded span per statement costs the ledger ~10 ms of CPU per transfer
    (docs/benchmarks.md, "Tracing"), too much to spend on spans nobody keeps."""
    if exporting or os.environ.get("OTEL_TRACES_SAMPLER"):
        return None
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
    return ParentBased(ALWAYS_OFF)


def _span_processor(exporter_name: str):
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    name = exporter_name.strip().lower()
    if name in ("", "none"):
        return None
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        return BatchSpanProcessor(OTLPSpanExporter())
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter
        return BatchSpanProcessor(ConsoleSpanExporter())
    log.warning("unknown OTEL_TRACES_EXPORTER; spans are not exported", extra={"exporter": exporter_name})
    return None


# A proxy until the provider is set, then the provider's tracer: made once, not per event.
_TRACER = trace.get_tracer(TRACER_NAME)


def tracer() -> trace.Tracer:
    return _TRACER


def current_ids() -> tuple[str | None, str | None]:
    """The current trace and span ids as hex (32 and 16 digits), or (None, None)."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None, None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


# --- trace context in event envelopes -------------------------------------------------

def trace_fields() -> dict[str, str]:
    """The current trace context as envelope fields ({} outside a trace)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {name: carrier[name] for name in TRACE_FIELDS if carrier.get(name)}


def _event_context(envelope: Mapping[str, Any]):
    traceparent = envelope.get("traceparent")
    if not isinstance(traceparent, str) or not TRACEPARENT_PATTERN.fullmatch(traceparent):
        return None
    carrier = {"traceparent": traceparent}
    tracestate = envelope.get("tracestate")
    if isinstance(tracestate, str) and len(tracestate) <= TRACESTATE_MAX_LENGTH:
        carrier["tracestate"] = tracestate
    extracted = propagate.extract(carrier)
    # All-zero ids are well-formed but invalid: such an event is processed as one without a trace.
    return extracted if trace.get_current_span(extracted).get_span_context().is_valid else None


@contextmanager
def consuming(envelope: Mapping[str, Any]) -> Iterator[None]:
    """Apply one event inside a consumer span of the trace that published it, linked to the
    delivery that brought it (an event without a trace context: under the delivery's span)."""
    delivery = trace.get_current_span().get_span_context()
    links = [trace.Link(delivery)] if delivery.is_valid else []
    parent = _event_context(envelope)
    attributes = {"messaging.operation.type": "process", "messaging.message.id": str(envelope.get("id")),
                  "finova.event.type": str(envelope.get("type")), "finova.event.source": str(envelope.get("source"))}
    token = context.attach(parent) if parent is not None else None
    try:
        with tracer().start_as_current_span(f"process {envelope.get('type')}", kind=trace.SpanKind.CONSUMER,
                                            links=links, attributes=attributes):
            yield
    finally:
        if token is not None:
            context.detach(token)


@contextmanager
def delivering(destination: str, payloads: list[Mapping[str, Any]]) -> Iterator[None]:
    """The relay's POST of a batch: a producer span linked to the trace of each event in it."""
    links = []
    for payload in payloads:
        parent = _event_context(payload)
        if parent is not None:
            links.append(trace.Link(trace.get_current_span(parent).get_span_context()))
    with tracer().start_as_current_span(f"send {destination}", kind=trace.SpanKind.PRODUCER, links=links,
                                        attributes={"messaging.operation.type": "send",
                                                    "messaging.destination.name": destination,
                                                    "messaging.batch.message_count": len(payloads)}):
        yield


# --- the gateway's edge --------------------------------------------------------------

class untrusted_trace_headers:
    """WSGI middleware for the public edge: drop a client's traceparent/tracestate so the
    gateway starts each trace itself (wraps outside Flask's instrumentation)."""

    _KEYS = ("HTTP_TRACEPARENT", "HTTP_TRACESTATE", "HTTP_BAGGAGE")

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        for key in self._KEYS:
            environ.pop(key, None)
        return self.wsgi_app(environ, start_response)
