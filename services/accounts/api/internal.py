"""GET /internal/accounts: every bank account's id, owner and status, a page at a time, for
the ledger's data-quality comparison (the transactions service only; EXPECTED_CALLERS)."""
from __future__ import annotations

import uuid

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import select

from services.common.errors import Problem

from ..models import BankAccount
from .context import system_session

blp = Blueprint("internal_accounts", __name__, url_prefix="/internal",
                description="Service-to-service calls: the account list the ledger compares against.")


class AccountPageQuery(ma.Schema):
    after = ma.fields.String(load_default=None, metadata={"description": "The last id of the previous page"})
    limit = ma.fields.Integer(load_default=1000, validate=ma.validate.Range(min=1, max=5000))


class AccountRefSchema(ma.Schema):
    id = ma.fields.String(required=True)
    customer_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True)


class AccountPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AccountRefSchema), required=True)
    next_after = ma.fields.String(allow_none=True, required=True)


@blp.get("/accounts")
@blp.arguments(AccountPageQuery, location="query")
@blp.response(200, AccountPageSchema)
def account_page(query):
    """Accounts in id order, after `after`; `next_after` is null on the last page."""
    query_ = select(BankAccount.id, BankAccount.customer_id, BankAccount.status).order_by(BankAccount.id)
    if query["after"] is not None:
        try:
            query_ = query_.where(BankAccount.id > uuid.UUID(query["after"]))
        except ValueError:
            raise Problem(422, "validation_error", "after is an account id.",
                          errors={"after": ["An account id."]}) from None
    rows = system_session().execute(query_.limit(query["limit"] + 1)).all()
    items = [{"id": str(row.id), "customer_id": str(row.customer_id), "status": row.status}
             for row in rows[:query["limit"]]]
    return {"items": items, "next_after": items[-1]["id"] if len(rows) > query["limit"] else None}
