"""Scheduled and recurring transfers: GET/POST /api/v1/scheduled-transfers,
GET/PATCH/DELETE /api/v1/scheduled-transfers/{id}, GET .../{id}/runs (API.md "Scheduled
transfers, bills, rewards"). The customer's own; an admin reads any. The runs are made by
`python -m services.transactions.cli run-due` (domain/workflows/schedules.py)."""
from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint

from services.common import cursors
from services.common.amounts import AmountError, AmountString, from_minor, parse_amount, to_minor
from services.common.errors import Problem
from services.common.fields import SafeText, WholeNumber
from services.common.sql import read_session, request_session

from ..domain.workflows.recurrence import FREQUENCIES
from ..domain.workflows.schedules import (Run, Schedule, cancel_schedule, change_schedule, create_schedule, get_schedule,
                                   list_runs, list_schedules)
from .ids import path_id
from .actors import actor, customer_actor
from .idempotent import IDEMPOTENCY_OPTIONAL
from .idempotent import optional_idempotent_write
from ..schemas import ID, DestinationSchema, MoneySchema
from .serialize import rfc3339

blp = Blueprint("scheduled_transfers", __name__, url_prefix="/api/v1",
                description="Scheduled and recurring transfers.")


class RecurrenceSchema(ma.Schema):
    frequency = ma.fields.String(required=True, validate=ma.validate.OneOf(FREQUENCIES))
    start_date = ma.fields.Date(required=True, metadata={"description": "YYYY-MM-DD, today (UTC) or later"})
    end_date = ma.fields.Date(load_default=None, allow_none=True, metadata={"description": "inclusive"})
    day_of_month = WholeNumber(load_default=None, allow_none=True,
                                     validate=ma.validate.Range(min=1, max=31),
                                     metadata={"description": "monthly only; 29-31 run on the last day of "
                                                              "shorter months"})


class ScheduleRequestSchema(MoneySchema, DestinationSchema):
    from_account_id = ID
    description = SafeText(load_default="", validate=ma.validate.Length(max=140))
    schedule = ma.fields.Nested(RecurrenceSchema, required=True)


class ScheduleChangeSchema(ma.Schema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(("active", "paused")),
                              metadata={"description": "paused: pause; active: resume"})
    amount = AmountString(load_default=None, metadata={"description": "the new amount, in the schedule's currency"})

    @ma.validates_schema
    def _something(self, data, **_kwargs):
        if data.get("status") is None and data.get("amount") is None:
            raise ma.ValidationError("Give status or amount.", field_name="status")


class RecurrenceOutSchema(ma.Schema):
    frequency = ma.fields.String()
    start_date = ma.fields.String()
    end_date = ma.fields.String(allow_none=True)
    day_of_month = ma.fields.Integer(allow_none=True)


class ScheduleSchema(ma.Schema):
    id = ma.fields.String()
    from_account_id = ma.fields.String()
    to_account_id = ma.fields.String(allow_none=True)
    to_iban = ma.fields.String(allow_none=True)
    beneficiary_name = ma.fields.String(allow_none=True)
    amount = ma.fields.String()
    currency = ma.fields.String()
    description = ma.fields.String()
    schedule = ma.fields.Nested(RecurrenceOutSchema)
    status = ma.fields.String(metadata={"description": "active, paused, finished or cancelled"})
    next_run_date = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()


class SchedulePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ScheduleSchema))
    next_cursor = ma.fields.String(allow_none=True)


class ScheduleQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


class RunSchema(ma.Schema):
    run_date = ma.fields.String()
    status = ma.fields.String(metadata={"description": "posted or failed"})
    transfer_id = ma.fields.String(allow_none=True)
    error_code = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()


class RunListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RunSchema))


def schedule_json(schedule: Schedule) -> dict:
    return {
        "id": str(schedule.id), "from_account_id": schedule.from_account_id,
        "to_account_id": schedule.to_account_id, "to_iban": schedule.to_iban,
        "beneficiary_name": schedule.beneficiary_name,
        "amount": from_minor(schedule.amount, schedule.currency), "currency": schedule.currency,
        "description": schedule.description,
        "schedule": {"frequency": schedule.frequency, "start_date": schedule.start_date.isoformat(),
                     "end_date": schedule.end_date.isoformat() if schedule.end_date else None,
                     "day_of_month": schedule.day_of_month},
        "status": schedule.status,
        "next_run_date": schedule.next_run_date.isoformat() if schedule.next_run_date else None,
        "created_at": rfc3339(schedule.created_at),
    }


def run_json(run: Run) -> dict:
    return {"run_date": run.run_date.isoformat(), "status": run.status,
            "transfer_id": str(run.transfer_id) if run.transfer_id else None, "error_code": run.error_code,
            "created_at": rfc3339(run.created_at)}


@blp.post("/scheduled-transfers")
@blp.arguments(ScheduleRequestSchema)
@blp.response(201, ScheduleSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def create(body):
    """A standing order from one of the customer's accounts; each run is a transfer through the
    same checks as the customer's own (KYC, account status, funds) on its date."""
    who = customer_actor()
    recurrence = body["schedule"]

    def act(session):
        schedule = create_schedule(
            session, who.customer_id, from_account_id=body["from_account_id"],
            amount=to_minor(body["amount"], body["currency"]), currency=body["currency"],
            description=body["description"], to_account_id=body["to_account_id"], to_iban=body["to_iban"],
            beneficiary_name=body["beneficiary_name"], **recurrence)
        return 201, schedule_json(schedule), schedule.id

    return optional_idempotent_write(who.name, act, ScheduleSchema)


@blp.get("/scheduled-transfers")
@blp.arguments(ScheduleQuerySchema, location="query")
@blp.response(200, SchedulePageSchema)
def index(query):
    """The customer's schedules (an admin's: all), newest first."""
    who = actor()
    found, after = list_schedules(read_session(), None if who.is_admin else who.customer_id, query["limit"],
                                  cursors.after(query["cursor"], cursors.moment, uuid.UUID))
    return {"items": [schedule_json(s) for s in found], "next_cursor": cursors.encode(*after) if after else None}


@blp.get("/scheduled-transfers/<schedule_id>")
@blp.response(200, ScheduleSchema)
def show(schedule_id: str):
    return schedule_json(get_schedule(read_session(), _owner(), path_id(schedule_id, "Scheduled transfer")))


@blp.patch("/scheduled-transfers/<schedule_id>")
@blp.arguments(ScheduleChangeSchema)
@blp.response(200, ScheduleSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def change(body, schedule_id: str):
    """Pause (`status: paused`), resume (`status: active`: from the next date not before today;
    dates missed while paused are not run), or change the amount."""
    who = customer_actor()
    target = path_id(schedule_id, "Scheduled transfer")
    amount = None
    if body["amount"] is not None:
        currency = get_schedule(request_session(), who.customer_id, target).currency
        try:
            amount = to_minor(parse_amount(body["amount"], currency), currency)
        except AmountError as error:
            raise Problem(422, "validation_error", str(error), errors={"amount": [str(error)]}) from None

    def act(session):
        schedule = change_schedule(session, who.customer_id, target, status=body["status"], amount=amount)
        return 200, schedule_json(schedule), schedule.id

    return optional_idempotent_write(who.name, act, ScheduleSchema)


@blp.delete("/scheduled-transfers/<schedule_id>")
@blp.response(200, ScheduleSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def cancel(schedule_id: str):
    """Cancel: nothing runs any more; the schedule and its runs stay readable."""
    who = customer_actor()
    target = path_id(schedule_id, "Scheduled transfer")

    def act(session):
        schedule = cancel_schedule(session, who.customer_id, target)
        return 200, schedule_json(schedule), schedule.id

    return optional_idempotent_write(who.name, act, ScheduleSchema)


@blp.get("/scheduled-transfers/<schedule_id>/runs")
@blp.response(200, RunListSchema)
def runs(schedule_id: str):
    """Each run date handled, newest first (the latest 100)."""
    return {"items": [run_json(r) for r in list_runs(read_session(), _owner(), path_id(schedule_id, "Scheduled transfer"))]}


def _owner() -> str | None:
    who = actor()
    return None if who.is_admin else who.customer_id


