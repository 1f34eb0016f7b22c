"""Admin-only: deposits and batch ingestion (the integrity check is in ledger_check.py)."""
from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from services.common.amounts import to_minor
from services.common.transient import retry_transient
from services.common.errors import flatten_messages, problem_body
from services.common.outbox import publish
from services.common.request_id import current_request_id
from services.common.sql import request_session

from ..domain.ledger.batch import BatchItem, post_batch
from ..domain.ledger.events import transfer_posted
from ..domain.ledger.transfers import post_deposit
from .actors import admin_actor
from .idempotent import IDEMPOTENCY_REQUIRED, idempotent_write
from ..schemas import BatchItemSchema, BatchRequestSchema, BatchResultSchema, DepositRequestSchema, TransferSchema
from .serialize import planned_transfer_json
from .transfers import posted

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Ledger administration.")


@blp.post("/deposits")
@blp.arguments(DepositRequestSchema)
@blp.response(201, TransferSchema)
@blp.doc(parameters=IDEMPOTENCY_REQUIRED)
def deposit(body):
    """Fund a customer account from the bank's settlement account."""
    who = admin_actor()

    def act(session):
        entry = post_deposit(session, who, account_id=body["account_id"],
                             amount=to_minor(body["amount"], body["currency"]), currency=body["currency"],
                             description=body["description"], request_id=current_request_id())
        return posted(session, entry)

    return idempotent_write(who.name, act, TransferSchema)


@blp.post("/transfers/batch")
@blp.arguments(BatchRequestSchema)
@blp.response(200, BatchResultSchema)
def batch(body):
    """Up to 1,000 transfers, each with its own idempotency_key; answered per item."""
    who = admin_actor()
    items, invalid = _parse_items(body["items"])
    session = request_session()

    def post_all() -> dict[int, dict]:
        results = dict(invalid)
        posted_items = post_batch(session, who.name, request.path, items, planned_transfer_json,
                                  request_id=current_request_id())
        for result in posted_items:
            results[result.index] = {"index": result.index, "status": result.status, "body": result.body}
            if body["notify"] and result.entry is not None:
                publish(current_app, session, "transfer.posted",
                        transfer_posted(result.entry, result.body["created_at"]))
        session.commit()
        return results

    # A lock timeout or deadlock re-runs the whole batch (bounded), then 503 with Retry-After.
    results = retry_transient(post_all, before_retry=session.rollback)
    ordered = [results[i] for i in sorted(results)]
    return {"items": ordered,
            "posted": sum(1 for r in ordered if r["status"] == 201),
            "failed": sum(1 for r in ordered if r["status"] >= 400)}, 200


def _parse_items(raw_items: list[dict]) -> tuple[list[BatchItem], dict[int, dict]]:
    schema = BatchItemSchema()
    items: list[BatchItem] = []
    invalid: dict[int, dict] = {}
    for index, raw in enumerate(raw_items):
        try:
            item = schema.load(raw)
        except ValidationError as error:
            invalid[index] = {"index": index, "status": 422, "body": problem_body(
                422, "validation_error", "The item has invalid fields.",
                errors=flatten_messages(error.messages))}
            continue
        items.append(BatchItem(index=index, key=item["idempotency_key"],
                               body={k: v for k, v in raw.items() if k != "idempotency_key"},
                               from_account_id=item["from_account_id"], to_account_id=item["to_account_id"],
                               amount=to_minor(item["amount"], item["currency"]), currency=item["currency"],
                               description=item["description"], category=item["category"]))
    return items, invalid

