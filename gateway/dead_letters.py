"""The admin's view of every outbox's dead letters, at /api/v1/admin/outbox/dead-letters.

Each PostgreSQL service keeps its own outbox and answers /internal/outbox/dead-letters
for an admin; this merges them (a service that cannot answer is named in `degraded`) and
replays an event at whichever service holds it.
"""
from __future__ import annotations

import uuid

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from services.common.errors import Problem
from services.common.openapi import problem_alt
from services.common.service_auth import Principal

from .auth import authenticate
from .upstreams import Upstream, UpstreamUnavailable

# The services with an outbox (preferences only receives events).
OUTBOX_SERVICES = ("accounts", "transactions")
DEAD_LETTERS = "/internal/outbox/dead-letters"

blp = Blueprint("outbox_dead_letters", __name__, url_prefix="/api/v1/admin/outbox",
                description="Outbox events given up on after their last attempt (admin).")


class DeadLetterSchema(ma.Schema):
    service = ma.fields.String()
    event_id = ma.fields.String()
    event_type = ma.fields.String()
    destination = ma.fields.String()
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()
    dead_lettered_at = ma.fields.String()


class DeadLettersSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeadLetterSchema))
    degraded = ma.fields.List(ma.fields.String(), metadata={
        "description": "Services that could not answer: their dead letters are missing."})


class ReplayedSchema(ma.Schema):
    service = ma.fields.String()
    event_id = ma.fields.String()
    replayed = ma.fields.Integer(metadata={"description": "Destinations it is sent to again."})


def _admin() -> Principal:
    principal = authenticate()
    if not principal.has_role("admin"):
        raise Problem(403, "forbidden", "The admin role is required.")
    return principal


def _upstreams() -> list[Upstream]:
    upstreams = current_app.extensions["upstreams"]
    return [upstreams[name] for name in OUTBOX_SERVICES]


@blp.get("/dead-letters")
@blp.response(200, DeadLettersSchema)
@problem_alt(blp, 503, "No service with an outbox could answer (service_unavailable).")
def list_dead_letters():
    """Dead letters of every service's outbox, newest first."""
    principal = _admin()
    items, degraded = [], []
    for upstream in _upstreams():
        try:
            response = upstream.get(DEAD_LETTERS, subject=principal.customer_id, roles=principal.roles)
        except UpstreamUnavailable:
            degraded.append(upstream.name)
            continue
        if response.status_code != 200:
            degraded.append(upstream.name)
            continue
        items.extend(response.json()["items"])
    if len(degraded) == len(OUTBOX_SERVICES):
        raise Problem(503, "service_unavailable", "No service could list its dead letters.",
                      headers={"Retry-After": "1"}, degraded=degraded)
    items.sort(key=lambda item: item.get("dead_lettered_at") or "", reverse=True)
    return {"items": items, "degraded": degraded}


@blp.post("/dead-letters/<event_id>/replay")
@blp.response(200, ReplayedSchema)
@problem_alt(blp, 404, "No service holds a dead letter with this id (not_found).")
def replay_dead_letter(event_id: str):
    """Send a dead-lettered event again, with a fresh count of attempts."""
    principal = _admin()
    try:
        uuid.UUID(event_id)
    except ValueError:
        raise Problem(404, "not_found", "No dead letter with this event id.") from None
    unavailable = []
    for upstream in _upstreams():
        try:
            response = upstream.post(f"{DEAD_LETTERS}/{event_id}/replay",
                                     subject=principal.customer_id, roles=principal.roles)
        except UpstreamUnavailable:
            unavailable.append(upstream.name)
            continue
        if response.status_code == 200:
            return response.json()
        if response.status_code != 404:
            unavailable.append(upstream.name)
    if unavailable:  # it may be at the service that could not answer
        raise Problem(503, "service_unavailable", "Not every service could be asked; try again.",
                      headers={"Retry-After": "1"}, degraded=unavailable)
    raise Problem(404, "not_found", "No dead letter with this event id.")
