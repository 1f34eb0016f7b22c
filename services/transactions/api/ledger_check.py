"""Admin: the ledger integrity check, its last run and its age, or a run now."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from services.common.sql import request_session

from ..domain.ledger.integrity import last_run, run_check
from .actors import admin_actor

blp = Blueprint("ledger_check", __name__, url_prefix="/api/v1/admin",
                description="The ledger integrity check.")


class LedgerCheckQuery(ma.Schema):
    run = ma.fields.String(validate=ma.validate.OneOf(["now"]),
                           metadata={"description": "`now` runs the check before answering; "
                                                    "otherwise the last run is shown (run now if none)."})


class ViolationSchema(ma.Schema):
    check = ma.fields.String(required=True)
    subject = ma.fields.String(required=True)
    detail = ma.fields.String(required=True)


class LedgerCheckSchema(ma.Schema):
    ok = ma.fields.Boolean(required=True)
    violations = ma.fields.List(ma.fields.Nested(ViolationSchema), required=True)
    checked_at = ma.fields.String(required=True)
    age_seconds = ma.fields.Integer(required=True)
    duration_ms = ma.fields.Integer(required=True)


@blp.get("/ledger-check")
@blp.arguments(LedgerCheckQuery, location="query")
@blp.response(200, LedgerCheckSchema)
def ledger_check(query):
    """The last integrity check of the whole ledger (`?run=now` for a fresh one).

    On a large ledger the check runs as a job (`python -m services.transactions.cli
    ledger-check`, a CronJob in production) and this shows its last outcome with its age."""
    admin_actor()
    session = request_session()
    run = None if query.get("run") == "now" else last_run(session)
    if run is None:
        run = run_check(session)
        session.commit()
    return run.as_json()
