"""Admin: settle or return a pending external transfer (API.md "External and international transfers")."""
from __future__ import annotations


from flask import current_app
from flask_smorest import Blueprint

from services.common.outbox import publish
from services.common.request_id import current_request_id

from ..domain.ledger.events import transfer_posted
from ..domain.ledger.external import return_external, settle_external
from ..domain.ledger.transfers import find_entry
from .ids import path_id
from .actors import admin_actor
from .idempotent import IDEMPOTENCY_OPTIONAL
from .idempotent import optional_idempotent_write
from ..schemas import TransferSchema
from .serialize import rfc3339, transfer_json

blp = Blueprint("external_transfers", __name__, url_prefix="/api/v1/admin",
                description="Settling and returning external transfers.")


@blp.post("/transfers/<transfer_id>/settle")
@blp.response(200, TransferSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def settle(transfer_id: str):
    """pending -> posted: the money has left the bank (outgoing clearing to settlement)."""
    who = admin_actor()
    entry_id = path_id(transfer_id, "Transfer")

    def act(session):
        settle_external(session, who, entry_id, request_id=current_request_id())
        return 200, transfer_json(find_entry(session, entry_id)), entry_id

    return optional_idempotent_write(who.name, act, TransferSchema)


@blp.post("/transfers/<transfer_id>/return")
@blp.response(200, TransferSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def return_(transfer_id: str):
    """pending -> returned: the amount and its fee come back to the source in full."""
    who = admin_actor()
    entry_id = path_id(transfer_id, "Transfer")

    def act(session):
        reversal = return_external(session, who, entry_id, request_id=current_request_id())
        # The money is back on the customer's account: alerts see it like any posting.
        publish(current_app, session, "transfer.posted", transfer_posted(reversal, rfc3339(reversal.created_at)))
        return 200, transfer_json(find_entry(session, entry_id)), entry_id

    return optional_idempotent_write(who.name, act, TransferSchema)

