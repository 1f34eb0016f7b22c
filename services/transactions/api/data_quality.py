"""Admin: the data-quality report, its last run and its age, or a run now."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from services.common.sql import request_session

from ..accounts_service import account_pages
from ..domain.ledger.quality import DIMENSIONS, last_report, run_report
from .actors import admin_actor

blp = Blueprint("data_quality", __name__, url_prefix="/api/v1/admin", description="The data-quality report.")


class DataQualityQuery(ma.Schema):
    run = ma.fields.String(validate=ma.validate.OneOf(["now"]),
                           metadata={"description": "`now` computes the report before answering; otherwise "
                                                    "the last run is shown (computed now if none)."})


class QualityCheckSchema(ma.Schema):
    name = ma.fields.String(required=True)
    dimension = ma.fields.String(required=True, metadata={"enum": list(DIMENSIONS)})
    status = ma.fields.String(required=True, metadata={"enum": ["pass", "fail"]})
    count = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)


class DataQualitySchema(ma.Schema):
    generated_at = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    age_seconds = ma.fields.Integer(required=True)
    duration_ms = ma.fields.Integer(required=True)
    checks = ma.fields.List(ma.fields.Nested(QualityCheckSchema), required=True)


@blp.get("/data-quality")
@blp.arguments(DataQualityQuery, location="query")
@blp.response(200, DataQualitySchema)
def data_quality(query):
    """Accuracy, completeness, consistency, validity, uniqueness and timeliness of the ledger's
    data. The report reads the whole ledger, so at the bank's scale it runs as a job
    (`python -m services.transactions.cli data-quality`, a CronJob) and this answers from
    its last run at once, with its age; `?run=now` computes a fresh one."""
    admin_actor()
    session = request_session()
    report = None if query.get("run") == "now" else last_report(session)
    if report is None:
        client = current_app.extensions["accounts"]
        report = run_report(session, account_pages(client) if client else None)
        session.commit()
    return report.as_json()
