"""For other services: ledger balances of bank accounts."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from services.common.problems import Problem
from services.common.service_auth import current_principal
from services.common.sql import request_session

from ..ledger.accounts import get_accounts
from .serialize import ledger_account_json

blp = Blueprint("internal_ledger", __name__, url_prefix="/internal", description="Service-to-service reads.")
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
