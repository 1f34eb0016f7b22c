"""GET /api/v1/accounts/{id}/transactions: the statement, newest first."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.common.problems import Problem
from services.common.sql import read_session

from ..ledger.accounts import get_accounts
from ..ledger.errors import NotFound
from ..ledger.statements import BadCursor, statement_page
from .actors import actor
from .schemas import StatementPageSchema, StatementQuerySchema
from .serialize import statement_line_json

blp = Blueprint("statements", __name__, url_prefix="/api/v1", description="Statements.")


@blp.get("/accounts/<account_id>/transactions")
@blp.arguments(StatementQuerySchema, location="query")
@blp.response(200, StatementPageSchema)
def statement(query, account_id: str):
    """Statement lines with the running balance; filters from, to (RFC 3339) and category."""
    who = actor()
    session = read_session()
    found = get_accounts(session, [account_id])
    if not found or found[0].kind != "customer" or not (who.is_admin or found[0].customer_id == who.customer_id):
        raise NotFound(f"Account {account_id} does not exist.")
    try:
        lines, next_cursor = statement_page(session, account_id, limit=query["limit"], cursor=query["cursor"],
                                            since=query["from_"], until=query["to"],
                                            category=query["category"])
    except BadCursor as exc:
        raise Problem(422, "validation_error", str(exc), errors={"cursor": [str(exc)]}) from None
    return {"items": [statement_line_json(line) for line in lines], "next_cursor": next_cursor}
