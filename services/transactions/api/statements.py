"""GET /api/v1/accounts/{id}/transactions: the statement, newest first; PATCH a line's category."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from services.common.errors import Problem
from services.common.sql import read_session, request_session

from ..domain.insights.categories import SLUGS
from ..domain.insights.lines import recategorize
from ..domain.ledger.statements import statement_line, statement_page
from .actors import actor, customer_actor, visible_account
from ..schemas import StatementLineSchema, StatementPageSchema, StatementQuerySchema
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
    lines, next_cursor = statement_page(session, account_id, limit=query["limit"], cursor=query["cursor"],
                                        since=query["from_"], until=query["to"], category=query["category"])
    return {"items": [statement_line_json(line) for line in lines], "next_cursor": next_cursor}


class RecategorizeSchema(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(SLUGS))


@blp.patch("/accounts/<account_id>/transactions/<line_id>")
@blp.arguments(RecategorizeSchema)
@blp.response(200, StatementLineSchema)
def recategorize_line(body, account_id: str, line_id: str):
    """Re-categorise one of the customer's statement lines: an annotation beside the posting
    (which never changes); the statement then shows it with `categorized_by: customer`, and
    budgets and insights count the line in its new category."""
    who = customer_actor()
    if not line_id.isdigit() or len(line_id) > 18:
        raise Problem(404, "not_found", f"Line {line_id} does not exist.")
    session = request_session()
    recategorize(session, who.customer_id, account_id, int(line_id), body["category"])
    session.commit()
    return statement_line_json(statement_line(session, account_id, int(line_id)))
