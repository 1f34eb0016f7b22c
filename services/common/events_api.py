"""The receiving end of the outbox: POST /internal/events, for services only."""
from __future__ import annotations

from typing import Callable

import marshmallow as ma
from flask import jsonify
from flask_smorest import Blueprint

from .problems import Problem
from .service_auth import current_principal


class EventEnvelopeSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    source = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    occurred_at = ma.fields.String(required=True)
    data = ma.fields.Dict(required=True)


# receive(envelope) -> True when applied now, False when it was a duplicate.
Receiver = Callable[[dict], bool]


def events_blueprint(receive: Receiver) -> Blueprint:
    blp = Blueprint("internal_events", __name__, url_prefix="/internal",
                    description="Events from other services (transactional outbox).")

    @blp.post("/events")
    @blp.arguments(EventEnvelopeSchema)
    def receive_event(envelope: dict):
        # Customers reach services only through the gateway; events come from services.
        if current_principal().caller == "gateway":
            raise Problem(403, "forbidden", "Events are accepted from services only.")
        envelope["id"] = str(envelope["id"])
        applied = receive(envelope)
        return jsonify(status="processed" if applied else "duplicate", id=envelope["id"])

    return blp
