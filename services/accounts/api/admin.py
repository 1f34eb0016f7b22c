"""Admin endpoints: customers and KYC, freeze and unfreeze, credit limits, the audit log."""
from __future__ import annotations

import uuid

from flask import current_app
from flask_smorest import Blueprint

from services.common import cursors
from services.common.amounts import AmountError, parse_amount
from services.common.errors import Problem

from ..domain import accounts, audit, customers
from ..schemas import (AccountLimitSchema, AccountSchema, AdminCustomerSchema, AuditArgsSchema, AuditPageSchema,
                       CustomerArgsSchema, CustomerPageSchema, KycDecisionSchema)
from .accounts import account_view
from .context import admin_session, emitter

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Admin only.")


def _ledger():
    return current_app.extensions["ledger"]


def _set_status(account_id: str, status: str):
    session, actor = admin_session()
    account = accounts.set_status(session, _ledger(), account_id, status, actor, emitter(session))
    session.commit()
    return account_view(account, with_balance=False), {"ETag": accounts.etag(account)}


@blp.post("/accounts/<account_id>/freeze")
@blp.response(200, AccountSchema)
def freeze(account_id: str):
    """Freeze an account: in force in the ledger (no money moves) before this answers."""
    return _set_status(account_id, "frozen")


@blp.post("/accounts/<account_id>/unfreeze")
@blp.response(200, AccountSchema)
def unfreeze(account_id: str):
    """Make a frozen account active again (in the ledger too, before this answers)."""
    return _set_status(account_id, "active")


@blp.patch("/accounts/<account_id>")
@blp.arguments(AccountLimitSchema)
@blp.response(200, AccountSchema)
def set_limit(data: dict, account_id: str):
    """Grant or change an account's credit (overdraft) limit; audited, in force in the ledger
    before this answers. credit_card and loan limits need a verified customer (409 kyc_required)."""
    session, actor = admin_session()
    account = accounts.get_account(session, account_id)
    try:
        limit = parse_amount(data["overdraft_limit"], account.currency, allow_zero=True)
    except AmountError as error:
        raise Problem(422, "validation_error", "The request has invalid fields.",
                      errors={"overdraft_limit": [str(error)]}) from None
    account = accounts.set_overdraft_limit(session, _ledger(), account_id, limit, actor, emitter(session))
    session.commit()
    return account_view(account, with_balance=False), {"ETag": accounts.etag(account)}


@blp.get("/customers")
@blp.arguments(CustomerArgsSchema, location="query")
@blp.response(200, CustomerPageSchema)
def list_customers(args: dict):
    """Customers, oldest first; `email` matches exactly (any case), `kyc_status` filters."""
    session, _actor = admin_session()
    after = cursors.after(args["cursor"], cursors.moment, uuid.UUID)
    rows, last = customers.list_customers(session, args["limit"], args["email"], args["kyc_status"], after)
    session.commit()
    next_cursor = None if last is None else cursors.encode(last.created_at, last.id)
    return {"items": rows, "next_cursor": next_cursor}


@blp.post("/customers/<customer_id>/kyc")
@blp.arguments(KycDecisionSchema)
@blp.response(200, AdminCustomerSchema)
def decide_kyc(data: dict, customer_id: str):
    """Record a KYC decision (verified or rejected); audited with its note, in force in the
    ledger before this answers."""
    session, actor = admin_session()
    customer = customers.decide_kyc(session, _ledger(), customer_id, data["status"], data["note"], actor,
                                    emitter(session))
    session.commit()
    return customer


@blp.get("/audit-logs")
@blp.arguments(AuditArgsSchema, location="query")
@blp.response(200, AuditPageSchema)
def audit_logs(args: dict):
    """The audit log, newest first, with filters and cursor pagination."""
    session, _actor = admin_session()
    before_id = None
    if args["cursor"]:
        (before_id,) = cursors.decode(args["cursor"], cursors.row_number)
    filters = audit.AuditFilter(**{k: args[k] for k in ("actor_id", "customer_id", "action", "target_type",
                                                        "target_id", "since", "until")})
    rows, next_id = audit.list_entries(session, filters, args["limit"], before_id)
    session.commit()
    return {"items": rows, "next_cursor": None if next_id is None else cursors.encode(next_id)}
