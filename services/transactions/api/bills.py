"""Bills: GET/POST /api/v1/bills, PATCH/DELETE /api/v1/bills/{id}, POST /api/v1/bills/{id}/pay
(API.md "Scheduled transfers, bills, rewards"). The customer's own; autopay, reminders and
overdue notices are the runner's (domain/workflows/bills.py)."""
from __future__ import annotations

from datetime import date, timedelta

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from services.common.amounts import AmountError, AmountString, from_minor, parse_amount, to_minor
from services.common.currency import CurrencyCode
from services.common.errors import Problem
from services.common.fields import SafeText, WholeNumber
from services.common.sql import read_session

from ..domain.workflows.bills import Bill, change_bill, create_bill, delete_bill, get_bill, list_bills, pay_bill, utc_today
from .ids import path_id
from .actors import customer_actor
from .idempotent import IDEMPOTENCY_OPTIONAL, IDEMPOTENCY_REQUIRED
from .idempotent import idempotent_write, optional_idempotent_write
from ..schemas import ID, Iban, TransferSchema

blp = Blueprint("bills", __name__, url_prefix="/api/v1", description="Bills, reminders and autopay.")

# A bill is for the coming years, not a date typed with a wrong century.
FURTHEST_DUE = timedelta(days=10 * 366)


def _due_date_in_range(value: date) -> None:
    today = utc_today()
    if not today - FURTHEST_DUE <= value <= today + FURTHEST_DUE:
        raise ma.ValidationError("A due date within ten years of today.")


class BillFields(ma.Schema):
    biller_name = SafeText(validate=ma.validate.Length(min=1, max=140))
    biller_iban = Iban(metadata={"example": "DE89370400440532013000"})
    amount_due = AmountString(metadata={"example": "42.10"})
    due_date = ma.fields.Date(validate=_due_date_in_range, metadata={"description": "YYYY-MM-DD"})
    pay_from_account_id = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    autopay = ma.fields.Boolean()
    reminder_days_before = WholeNumber(validate=ma.validate.Range(min=0, max=60))


class BillRequestSchema(BillFields):
    biller_name = SafeText(required=True, validate=ma.validate.Length(min=1, max=140))
    biller_iban = Iban(required=True, metadata={"example": "DE89370400440532013000"})
    amount_due = AmountString(required=True, metadata={"example": "42.10"})
    currency = CurrencyCode(required=True)
    due_date = ma.fields.Date(required=True, validate=_due_date_in_range, metadata={"description": "YYYY-MM-DD"})
    pay_from_account_id = ID
    autopay = ma.fields.Boolean(load_default=False)
    reminder_days_before = WholeNumber(load_default=3, validate=ma.validate.Range(min=0, max=60))


class BillChangeSchema(BillFields):
    @ma.validates_schema
    def _something(self, data, **_kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.", field_name="biller_name")


class BillSchema(ma.Schema):
    id = ma.fields.String()
    biller_name = ma.fields.String()
    biller_iban = ma.fields.String()
    amount_due = ma.fields.String()
    currency = ma.fields.String()
    due_date = ma.fields.String()
    pay_from_account_id = ma.fields.String()
    autopay = ma.fields.Boolean()
    reminder_days_before = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "upcoming, paid or overdue"})
    paid_transfer_id = ma.fields.String(allow_none=True)
    last_error = ma.fields.String(allow_none=True, metadata={"description": "why the last autopay was refused"})
    created_at = ma.fields.String()


class BillListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BillSchema))


class BillPaymentSchema(TransferSchema):
    bill_id = ma.fields.String()


def bill_json(bill: Bill) -> dict:
    return {"id": str(bill.id), "biller_name": bill.biller_name, "biller_iban": bill.biller_iban,
            "amount_due": from_minor(bill.amount_due, bill.currency), "currency": bill.currency,
            "due_date": bill.due_date.isoformat(), "pay_from_account_id": bill.pay_from_account_id,
            "autopay": bill.autopay, "reminder_days_before": bill.reminder_days_before, "status": bill.status(),
            "paid_transfer_id": str(bill.paid_transfer_id) if bill.paid_transfer_id else None,
            "last_error": bill.last_error, "created_at": bill.created_at.isoformat()}


def _minor(text: str, currency: str) -> int:
    try:
        return to_minor(parse_amount(text, currency), currency)
    except AmountError as error:
        raise Problem(422, "validation_error", str(error), errors={"amount_due": [str(error)]}) from None


@blp.get("/bills")
@blp.response(200, BillListSchema)
def index():
    """The customer's bills, the soonest due first."""
    return {"items": [bill_json(b) for b in list_bills(read_session(), customer_actor().customer_id)]}


@blp.post("/bills")
@blp.arguments(BillRequestSchema)
@blp.response(201, BillSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def create(body):
    who = customer_actor()
    currency = body["currency"].upper()
    fields = {**body, "currency": currency, "amount_due": _minor(body["amount_due"], currency)}

    def act(session):
        bill = create_bill(session, who.customer_id, **fields)
        return 201, bill_json(bill), bill.id

    return optional_idempotent_write(who.name, act, BillSchema)


@blp.get("/bills/<bill_id>")
@blp.response(200, BillSchema)
def show(bill_id: str):
    return bill_json(get_bill(read_session(), customer_actor().customer_id, path_id(bill_id, "Bill")))


@blp.patch("/bills/<bill_id>")
@blp.arguments(BillChangeSchema)
@blp.response(200, BillSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def change(body, bill_id: str):
    """Change an unpaid bill; a paid one is 409 `bill_already_paid`."""
    who = customer_actor()
    target = path_id(bill_id, "Bill")

    def act(session):
        changes = dict(body)
        if "amount_due" in changes:
            changes["amount_due"] = _minor(changes["amount_due"], get_bill(session, who.customer_id, target).currency)
        bill = change_bill(session, who.customer_id, target, changes)
        return 200, bill_json(bill), bill.id

    return optional_idempotent_write(who.name, act, BillSchema)


@blp.delete("/bills/<bill_id>")
@blp.response(200, BillSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def delete(bill_id: str):
    """Delete an unpaid bill (kept for the record, gone from the list); a paid one is 409."""
    who = customer_actor()
    target = path_id(bill_id, "Bill")

    def act(session):
        bill = delete_bill(session, who.customer_id, target)
        return 200, bill_json(bill), bill.id

    return optional_idempotent_write(who.name, act, BillSchema)


@blp.post("/bills/<bill_id>/pay")
@blp.response(201, BillPaymentSchema)
@blp.doc(parameters=IDEMPOTENCY_REQUIRED)
def pay(bill_id: str):
    """Pay now: a transfer to the biller's IBAN (pending until settled, as any external
    transfer); a paid bill is 409 `bill_already_paid`."""
    who = customer_actor()
    target = path_id(bill_id, "Bill")
    return idempotent_write(who.name, lambda session: pay_bill(current_app, session, who, target), BillPaymentSchema)

