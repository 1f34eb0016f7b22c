"""The receiving end of the outbox: POST /internal/events, for services only.

The body is one envelope (answered 200 `{status, id}`) or a batch `{"events": [envelope,
...]}` of at most 500 (answered 200 `{"results": [{id, status, detail?}]}`). Each event of
a batch is applied on its own (its own transaction for the PostgreSQL services), so one
that fails does not undo the others. Per event: `processed` (applied now), `duplicate`
(applied before), `retry` (not applied, send it again later: the handler raised RetryLater,
or the store failed) and `rejected` (malformed or refused: it will never apply).
"""
from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Callable

import marshmallow as ma
from flask import jsonify, request
from flask_smorest import Blueprint

from .errors import Problem, flatten_messages
from .outbox import DUPLICATE, MAX_BATCH, PROCESSED, REJECTED, RETRY, RejectEvent, RetryLater
from .service_auth import current_principal
from .fields import StrictRegexp, anchored, instance_of
from .tracing import TRACEPARENT_PATTERN, TRACESTATE_MAX_LENGTH, consuming

log = logging.getLogger(__name__)


class EventEnvelopeSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    source = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    occurred_at = ma.fields.String(required=True)
    data = ma.fields.Dict(required=True)
    # W3C trace context of the publishing request (CloudEvents' distributed-tracing extension).
    traceparent = ma.fields.String(validate=StrictRegexp(anchored(TRACEPARENT_PATTERN)))
    tracestate = ma.fields.String(validate=ma.validate.Length(max=TRACESTATE_MAX_LENGTH))


class EventBatchSchema(ma.Schema):
    # Elements are checked one by one below, so a malformed one is only that event's `rejected`.
    events = ma.fields.List(ma.fields.Raw(), required=True,
                            validate=ma.validate.Length(min=1, max=MAX_BATCH))


class EventResultSchema(ma.Schema):
    id = ma.fields.String(allow_none=True)
    status = ma.fields.String(validate=ma.validate.OneOf((PROCESSED, DUPLICATE, RETRY, REJECTED)))
    detail = ma.fields.String()


class BatchAnswerSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(EventResultSchema))


# receive(envelope) -> True when applied now, False when it was a duplicate; it raises
# RetryLater / RejectEvent (or a Problem) when the event is not applied.
Receiver = Callable[[dict], bool]
# batch_scope(raw events) -> a context in which the batch's events are received: a receiver
# reads there what the whole batch needs at once and may leave writes for the batch's end.
# Its value, when not None, is settle(results) -> results, called once every event is
# received: it writes what was left and corrects the results that depended on it
# (preferences/domain/event_batch.py).
Settle = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
BatchScope = Callable[[list], AbstractContextManager[Settle | None]]


def _load(schema: type[ma.Schema], body: Any) -> dict:
    try:
        return instance_of(schema).load(body)
    except ma.ValidationError as error:
        raise Problem(422, "validation_error", "The request has invalid fields.",
                      errors=flatten_messages(error.messages)) from None


def receive_one(receive: Receiver, raw: Any) -> dict[str, Any]:
    """One event of a batch, as its result; never raises."""
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    try:
        envelope = instance_of(EventEnvelopeSchema).load(raw)
    except ma.ValidationError as error:
        fields = flatten_messages(error.messages)
        return {"id": raw_id if isinstance(raw_id, str) else None, "status": REJECTED,
                "detail": "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())}
    event_id = envelope["id"] = str(envelope["id"])
    try:
        with consuming(envelope):
            applied = receive(envelope)
    except RetryLater as exc:
        return {"id": event_id, "status": RETRY, "detail": str(exc) or "retry later"}
    except RejectEvent as exc:
        return {"id": event_id, "status": REJECTED, "detail": str(exc) or "rejected"}
    except Problem as exc:
        # A 4xx is the event's fault (it would be refused again); a 5xx is ours, for now.
        # Only the ad-hoc Problem (malformed data): a named rule a handler lets escape is a
        # handler bug, logged and retried below.
        status = REJECTED if 400 <= exc.status < 500 else RETRY
        return {"id": event_id, "status": status, "detail": f"{exc.code}: {exc.detail or ''}"[:500]}
    except Exception as exc:  # a store blip or a handler bug: not applied, try again later
        log.exception("event not applied", extra={"event_id": event_id, "event_type": envelope["type"]})
        return {"id": event_id, "status": RETRY, "detail": f"{type(exc).__name__}"}
    return {"id": event_id, "status": PROCESSED if applied else DUPLICATE}


def _no_scope(_events: list) -> AbstractContextManager:
    return nullcontext()


def events_blueprint(receive: Receiver, batch_scope: BatchScope | None = None) -> Blueprint:
    blp = Blueprint("internal_events", __name__, url_prefix="/internal",
                    description="Events from other services (transactional outbox).")

    @blp.post("/events")
    @blp.response(200, BatchAnswerSchema)
    def receive_event():
        """One event envelope, or {"events": [envelope, ...]} (at most 500)."""
        # Customers reach services only through the gateway; events come from services.
        if current_principal().caller == "gateway":
            raise Problem(403, "forbidden", "Events are accepted from services only.")
        body = request.get_json(silent=True)
        if isinstance(body, dict) and "events" in body:
            batch = _load(EventBatchSchema, body)
            with (batch_scope or _no_scope)(batch["events"]) as settle:
                results = [receive_one(receive, raw) for raw in batch["events"]]
                return {"results": settle(results) if settle is not None else results}
        envelope = _load(EventEnvelopeSchema, body)
        envelope["id"] = str(envelope["id"])
        try:
            with consuming(envelope):
                applied = receive(envelope)
        except RetryLater as exc:
            raise Problem(409, "retry_later", str(exc) or "Not applied now: send it again later.") from None
        except RejectEvent as exc:
            raise Problem(422, "event_rejected", str(exc) or "This event will never apply.") from None
        return jsonify(status=PROCESSED if applied else DUPLICATE, id=envelope["id"])

    return blp
