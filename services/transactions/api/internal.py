"""For other services: ledger balances of bank accounts, and the accounts service's
synchronous calls that put a freeze, a close, a credit limit or a KYC decision in force in
the ledger before the accounts service commits and answers (domain/ledger/account_sync.py)."""
from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint

from services.common.amounts import from_minor
from services.common.errors import Problem
from services.common.service_auth import current_principal
from services.common.sql import request_session

from ..domain.ledger.account_sync import apply_account_snapshot, apply_customer_kyc
from ..domain.ledger.accounts import get_accounts
from ..domain.ledger.events import AccountSnapshotSchema, CustomerKycSchema, load, snapshot_from
from .serialize import ledger_account_json

blp = Blueprint("internal_ledger", __name__, url_prefix="/internal", description="Service-to-service calls.")
MAX_IDS = 500


@blp.get("/ledger-accounts")
def ledger_accounts():
    """Balances of the given accounts (?ids=a,b); unknown ids are left out."""
    if current_principal().caller == "gateway":
        raise Problem(403, "forbidden", "For services only.")
    ids = [i for i in request.args.get("ids", "").split(",") if i]
    if not ids or len(ids) > MAX_IDS:
        raise Problem(422, "validation_error", f"Give 1 to {MAX_IDS} ids.", errors={"ids": ["1 to 500 ids."]})
    accounts = get_accounts(request_session(), ids)
    return {"items": [ledger_account_json(a) for a in accounts if a.kind == "customer"]}


def _accounts_service_only() -> None:
    if current_principal().caller != "accounts":
        raise Problem(403, "forbidden", "Only the accounts service changes ledger accounts and customers.")


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(422, "validation_error", "The body must be a JSON object.", errors={"body": ["Not an object."]})
    return body


@blp.put("/ledger-accounts/<account_id>")
def put_ledger_account(account_id: str):
    """Apply the account's snapshot by version: 200 the ledger's view; 409 account_closed
    (closed is final) or account_not_empty (closing with money or holds left)."""
    _accounts_service_only()
    body = _body()
    if body.get("account_id", account_id) != account_id:
        raise Problem(422, "validation_error", "account_id differs from the path.",
                      errors={"account_id": ["Differs from the path."]})
    data = load(AccountSnapshotSchema(unknown=ma.EXCLUDE), {**body, "account_id": account_id},
                "The account snapshot is invalid.")
    session = request_session()
    view = apply_account_snapshot(session, snapshot_from(data))
    session.commit()
    return {"account_id": view.account_id, "status": view.status,
            "overdraft_limit": from_minor(view.overdraft_limit, view.currency), "version": view.version,
            "balance": from_minor(view.balance, view.currency), "applied": view.applied}


@blp.put("/ledger-customers/<customer_id>")
def put_ledger_customer(customer_id: str):
    """The customer's KYC status by version: 200 `{customer_id, kyc_status, version}`."""
    _accounts_service_only()
    body = _body()
    if body.get("customer_id", customer_id) != customer_id:
        raise Problem(422, "validation_error", "customer_id differs from the path.",
                      errors={"customer_id": ["Differs from the path."]})
    data = load(CustomerKycSchema(unknown=ma.EXCLUDE), {**body, "customer_id": customer_id},
                "The customer's KYC update is invalid.")
    session = request_session()
    view = apply_customer_kyc(session, customer_id, data["kyc_status"], data["version"])
    session.commit()
    return {"customer_id": view.customer_id, "kyc_status": view.kyc_status, "version": view.version,
            "applied": view.applied}
