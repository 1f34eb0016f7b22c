"""POST/GET /api/v1/transfers, POST /api/v1/transfers/{id}/reverse."""
from __future__ import annotations


from flask import current_app
from flask_smorest import Blueprint

from services.common.outbox import publish
from services.common.request_id import current_request_id
from services.common.sql import request_session

from ..domain.ledger.events import transfer_posted
from ..domain.ledger.errors import NotFound
from ..metrics import count_transfer
from ..domain.ledger.transfers import get_entry_for, reverse_entry
from ..domain.risk.reviews import review_of_transfer
from ..domain.workflows.execute import transfer_action
from .ids import path_id
from .actors import actor, customer_actor
from .idempotent import IDEMPOTENCY_REQUIRED, idempotent_write
from ..schemas import ReverseRequestSchema, TransferRequestSchema, TransferSchema
from .serialize import pending_review_json, planned_transfer_json, rfc3339, transfer_json

blp = Blueprint("transfers", __name__, url_prefix="/api/v1", description="Money movement.")


def posted(session, entry, external=None):
    """Publish transfer.posted with the change and answer with the entry just written."""
    publish(current_app, session, "transfer.posted", transfer_posted(entry, rfc3339(entry.created_at)))
    return 201, planned_transfer_json(entry, entry.created_at, external), entry.id


@blp.post("/transfers")
@blp.arguments(TransferRequestSchema)
@blp.response(201, TransferSchema)
@blp.alt_response(202, schema=TransferSchema, description="Held for risk review: `status` is `pending_review`, "
                  "the amount on hold (`hold_id`), the rules in `risk.rules`.")
@blp.doc(parameters=IDEMPOTENCY_REQUIRED)
def create_transfer(body):
    """Move money from one of the customer's accounts to another account of this bank
    (`to_account_id`, or `to_iban` of this bank), or to another bank (`to_iban` and
    `beneficiary_name`: 201 `pending` until the bank settles or returns it)."""
    who = customer_actor()
    request_body = {**body, "request_id": current_request_id()}
    response = idempotent_write(who.name, lambda session: transfer_action(current_app, session, who, request_body),
                                TransferSchema)
    count_transfer(current_app, response)
    return response


@blp.get("/transfers/<transfer_id>")
@blp.response(200, TransferSchema)
def get_transfer(transfer_id: str):
    """A transfer the customer sent or received."""
    session, who, entry_id = request_session(), actor(), path_id(transfer_id, "Transfer")
    try:
        return transfer_json(get_entry_for(session, who, entry_id))
    except NotFound:
        # Held for review (or rejected by the reviewer): not in the ledger, but the customer's.
        review = review_of_transfer(session, entry_id)
        if review is None or not (who.is_admin or review.customer_id == who.customer_id) \
                or review.status == "approved":
            raise
        return pending_review_json(review)


@blp.post("/transfers/<transfer_id>/reverse")
@blp.arguments(ReverseRequestSchema)
@blp.response(201, TransferSchema)
@blp.doc(parameters=IDEMPOTENCY_REQUIRED)
def reverse_transfer(body, transfer_id: str):
    """The rollback: a reversing transfer that moves the money back; both stay in history."""
    who = actor()
    entry_id = path_id(transfer_id, "Transfer")

    def act(session):
        entry = reverse_entry(session, who, entry_id, description=body.get("description"),
                              request_id=current_request_id())
        return posted(session, entry)

    return idempotent_write(who.name, act, TransferSchema)

