"""Admin endpoints: freeze and unfreeze accounts, read the audit log."""
from __future__ import annotations

from flask_smorest import Blueprint


from ..domain import accounts, audit
from ..pagination import decode_cursor, encode_cursor, malformed_cursor
from ..schemas import AccountSchema, AuditArgsSchema, AuditPageSchema
from .accounts import account_view
from .context import admin_session, emitter

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Admin only.")


def _set_status(account_id: str, status: str):
    session, actor = admin_session()
    account = accounts.set_status(session, account_id, status, actor, emitter(session))
    session.commit()
    return account_view(account, with_balance=False), {"ETag": accounts.etag(account)}


@blp.post("/accounts/<account_id>/freeze")
@blp.response(200, AccountSchema)
def freeze(account_id: str):
    """Freeze an account: the ledger refuses to move its money until it is unfrozen."""
    return _set_status(account_id, "frozen")


@blp.post("/accounts/<account_id>/unfreeze")
@blp.response(200, AccountSchema)
def unfreeze(account_id: str):
    """Make a frozen account active again."""
    return _set_status(account_id, "active")


@blp.get("/audit-logs")
@blp.arguments(AuditArgsSchema, location="query")
@blp.response(200, AuditPageSchema)
def audit_logs(args: dict):
    """The audit log, newest first, with filters and cursor pagination."""
    session, _actor = admin_session()
    before_id = None
    if args["cursor"]:
        before_id = decode_cursor(args["cursor"]).get("before")
        if not isinstance(before_id, int):
            raise malformed_cursor()
    filters = audit.AuditFilter(**{k: args[k] for k in ("actor_id", "customer_id", "action", "target_type",
                                                        "target_id", "since", "until")})
    rows, next_id = audit.list_entries(session, filters, args["limit"], before_id)
    session.commit()
    return {"items": rows, "next_cursor": None if next_id is None else encode_cursor({"before": next_id})}
