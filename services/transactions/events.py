"""Events the ledger publishes and the account events it applies."""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from sqlalchemy.orm import Session

from services.common.currency import minor_units
from services.common.problems import Problem, flatten_messages

from .ledger.accounts import open_customer_account, set_status
from .money import to_minor

# The preferences service raises notifications (low balance, large transaction) from these.
EVENT_ROUTES = {
    "transfer.posted": ("preferences",),
}

STATUSES = ("active", "frozen", "closed")


def _known_currency(code: str) -> None:
    if minor_units(code) is None:
        raise ma.ValidationError("Not an ISO 4217 currency with minor units.")


class AccountOpenedSchema(ma.Schema):
    account_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    customer_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    currency = ma.fields.String(required=True, validate=_known_currency)
    overdraft_limit = ma.fields.Decimal(load_default=Decimal("0"), allow_none=True,
                                        validate=ma.validate.Range(min=0))
    status = ma.fields.String(load_default="active", validate=ma.validate.OneOf(STATUSES))


class AccountStatusSchema(ma.Schema):
    account_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))


class AccountClosedSchema(ma.Schema):
    account_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


def _load(schema: type[ma.Schema], data: dict) -> dict:
    """A malformed event is refused with 422 (its sender's bug), never applied, never a 500."""
    try:
        return schema(unknown=ma.EXCLUDE).load(data)
    except ma.ValidationError as error:
        raise Problem(422, "validation_error", "The event's data is invalid.",
                      errors=flatten_messages(error.messages)) from None


def on_account_opened(session: Session, data: dict) -> None:
    event = _load(AccountOpenedSchema, data)
    currency = event["currency"].upper()
    try:
        # Exact in minor units is enough here ("0.00" JPY is 0); the API's stricter text rule is for clients.
        overdraft = to_minor(event["overdraft_limit"] or Decimal(0), currency)
    except ValueError as error:
        raise Problem(422, "validation_error", "The event's data is invalid.",
                      errors={"overdraft_limit": [str(error)]}) from None
    open_customer_account(session, event["account_id"], event["customer_id"], currency,
                          overdraft_limit=overdraft, status=event["status"])


def on_account_status_changed(session: Session, data: dict) -> None:
    event = _load(AccountStatusSchema, data)
    set_status(session, event["account_id"], event["status"])


def on_account_closed(session: Session, data: dict) -> None:
    set_status(session, _load(AccountClosedSchema, data)["account_id"], "closed")


HANDLERS = {
    "account.opened": on_account_opened,
    "account.status_changed": on_account_status_changed,
    "account.closed": on_account_closed,
}
