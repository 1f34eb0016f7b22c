"""GET /api/v1/accounts/{id}/transactions: the statement, newest first."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.common.problems import Problem
from services.common.sql import read_session

from ..ledger.statements import BadCursor, statement_page
from .actors import actor, visible_account
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
    visible_account(session, who, account_id)
    try:
        lines, next_cursor = statement_page(session, account_id, limit=query["limit"], cursor=query["cursor"],
                                            since=query["from_"], until=query["to"],
                                            category=query["category"])
    except BadCursor as exc:
        raise Problem(422, "validation_error", str(exc), errors={"cursor": [str(exc)]}) from None
    return {"items": [statement_line_json(line) for line in lines], "next_cursor": next_cursor}
