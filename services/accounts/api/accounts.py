"""A customer's bank accounts: open, list, read, rename, close."""
from __future__ import annotations

import uuid

from flask import current_app, request
from flask_smorest import Blueprint

from services.common import cursors
from services.common.amounts import format_amount
from services.common.errors import Problem
from services.common.openapi import if_match, problem_alt

from ..domain import accounts
from ..models import BankAccount
from ..schemas import AccountPageSchema, AccountSchema, OpenAccountSchema, PageArgsSchema, RenameAccountSchema
from .context import customer_actor, customer_session, emitter

blp = Blueprint("accounts", __name__, url_prefix="/api/v1/accounts", description="Bank accounts.")


def account_view(account: BankAccount, balances=None, with_balance: bool = True) -> dict:
    """The account as clients see it; balances are the ledger's (None: it cannot say)."""
    view = {"id": str(account.id), "number": account.number, "type": account.type, "currency": account.currency,
            "status": account.status, "nickname": account.nickname, "created_at": account.created_at,
            "overdraft_limit": format_amount(account.overdraft_limit, account.currency)}
    if with_balance:
        known = None if balances is None else balances.get(str(account.id))
        view["balance"] = None if known is None else format_amount(known.balance, account.currency)
        view["available_balance"] = None if known is None else format_amount(known.available_balance, account.currency)
        view["balance_unavailable"] = known is None
    return view


def _ledger():
    return current_app.extensions["ledger"]


@blp.post("")
@blp.arguments(OpenAccountSchema)
@blp.response(201, AccountSchema)
def open_account(data: dict):
    """Open an account; the ledger hears of it through the outbox."""
    session, customer_id = customer_session()
    account = accounts.open_account(session, customer_id, data["type"], data["currency"], data["nickname"],
                                    customer_actor(customer_id), emitter(session), current_app.config["IBAN_SORT_CODE"])
    session.commit()
    return account_view(account, with_balance=False), {"ETag": accounts.etag(account),
                                                      "Location": f"/api/v1/accounts/{account.id}"}


@blp.get("")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, AccountPageSchema)
def list_accounts(args: dict):
    """The customer's accounts with their balances, oldest first."""
    session, customer_id = customer_session()
    after = cursors.after(args["cursor"], cursors.moment, uuid.UUID)
    rows, last = accounts.list_accounts(session, customer_id, args["limit"], after)
    session.commit()
    balances = _ledger().balances([str(row.id) for row in rows]) if rows else {}
    next_cursor = None if last is None else cursors.encode(last.created_at, last.id)
    return {"items": [account_view(row, balances) for row in rows], "next_cursor": next_cursor}


@blp.get("/<account_id>")
@blp.response(200, AccountSchema)
def get_account(account_id: str):
    """One of the customer's accounts, with its balance."""
    session, customer_id = customer_session()
    account = accounts.get_account(session, account_id, customer_id)
    session.commit()
    return account_view(account, _ledger().balances([str(account.id)])), {"ETag": accounts.etag(account)}


@blp.patch("/<account_id>")
@blp.arguments(RenameAccountSchema)
@blp.response(200, AccountSchema)
@blp.doc(parameters=[if_match(required=True)])
@problem_alt(blp, 412, "If-Match names an older version (precondition_failed).")
@problem_alt(blp, 428, "No If-Match (precondition_required).")
def rename_account(data: dict, account_id: str):
    """Change the nickname; If-Match must carry the ETag last read."""
    if_match = request.headers.get("If-Match")
    session, customer_id = customer_session()
    if not if_match:
        accounts.get_account(session, account_id, customer_id)  # 404 before 428
        raise Problem(428, "precondition_required", "Send If-Match with the account's ETag.")
    account = accounts.rename(session, customer_id, account_id, data["nickname"], if_match, customer_actor(customer_id))
    session.commit()
    return account_view(account, with_balance=False), {"ETag": accounts.etag(account)}


@blp.post("/<account_id>/close")
@blp.response(200, AccountSchema)
def close_account(account_id: str):
    """Close an account; the ledger refuses (409 account_not_empty) unless balance and holds are zero."""
    session, customer_id = customer_session()
    account = accounts.close_account(session, _ledger(), customer_id, account_id, customer_actor(customer_id),
                                     emitter(session))
    session.commit()
    return account_view(account, with_balance=False), {"ETag": accounts.etag(account)}
