"""The bank's books (admin): chart of accounts, manual journal entries, trial balance and
fiscal periods. Creating a journal entry takes an Idempotency-Key (required); posting,
voiding and closing a period accept one."""
from __future__ import annotations

import marshmallow as ma
from flask import Response, json, request
from flask_smorest import Blueprint

from services.common.amounts import AmountError, AmountString, parse_amount, to_minor
from services.common.currency import CurrencyCode
from services.common.transient import retry_transient
from services.common.fields import SafeText
from services.common.problems import MEDIA_TYPE
from services.common.request_id import current_request_id
from services.common.service_auth import require_role
from services.common.sql import request_session

from ..domain.books.journal import LineInput, create_entry, get_entry, list_entries, post_entry, void_entry
from ..domain.books.keys import fingerprint, run_once
from ..domain.books.periods import close_period, create_period, get_period, list_periods
from ..domain.books.trial_balance import chart_with_balances, trial_balance
from ..domain.books.values import EARLIEST_MOMENT, LATEST_MOMENT
from .idempotent import IDEMPOTENCY_OPTIONAL, IDEMPOTENCY_REQUIRED, read_key

blp = Blueprint("books", __name__, url_prefix="/api/v1/admin", description="The bank's books.")


# -- schemas -----------------------------------------------------------------------------------
class JournalLineRequestSchema(ma.Schema):
    account_code = ma.fields.String(required=True, validate=ma.validate.Length(min=4, max=8),
                                    metadata={"example": "5200-EUR"})
    debit = AmountString(load_default=None, metadata={"example": "100.00"})
    credit = AmountString(load_default=None)
    currency = CurrencyCode(required=True)

    @ma.validates_schema
    def _one_side(self, data, **_kwargs):
        currency = data.get("currency")
        if currency is None:
            return
        sides = [name for name in ("debit", "credit") if data.get(name) is not None]
        if len(sides) != 1:
            raise ma.ValidationError("A line has exactly one of debit and credit.", field_name="debit")
        try:
            parse_amount(data[sides[0]], currency)
        except AmountError as error:
            raise ma.ValidationError(str(error), field_name=sides[0]) from None


class JournalEntryRequestSchema(ma.Schema):
    description = SafeText(required=True, validate=ma.validate.Length(min=1, max=500))
    effective_date = ma.fields.Date(required=True, metadata={"example": "2026-11-30"})
    lines = ma.fields.List(ma.fields.Nested(JournalLineRequestSchema), required=True,
                           validate=ma.validate.Length(min=2, max=100))


class JournalLineSchema(ma.Schema):
    line_no = ma.fields.Integer()
    account_code = ma.fields.String()
    currency = ma.fields.String()
    debit = ma.fields.String(allow_none=True)
    credit = ma.fields.String(allow_none=True)


class JournalEntrySchema(ma.Schema):
    id = ma.fields.String()
    description = ma.fields.String()
    effective_date = ma.fields.String()
    status = ma.fields.String(metadata={"description": "draft, posted or voided"})
    lines = ma.fields.List(ma.fields.Nested(JournalLineSchema))
    created_at = ma.fields.String()
    created_by = ma.fields.String()
    posted_at = ma.fields.String(allow_none=True)
    posted_by = ma.fields.String(allow_none=True)
    voided_at = ma.fields.String(allow_none=True)
    voided_by = ma.fields.String(allow_none=True)


class PageQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=500))


class JournalQuerySchema(PageQuerySchema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["draft", "posted", "voided"]))


class JournalPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(JournalEntrySchema))
    next_cursor = ma.fields.String(allow_none=True)


class ChartAccountSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    type = ma.fields.String(metadata={"description": "asset, liability, equity, revenue or expense"})
    parent_code = ma.fields.String(allow_none=True)
    currency = ma.fields.String(allow_none=True, metadata={"description": "null on headers"})
    ledger_kind = ma.fields.String(allow_none=True,
                                   metadata={"description": "the ledger accounts this leaf holds, if any"})
    postable = ma.fields.Boolean(metadata={"description": "takes manual journal lines"})
    balance = ma.fields.String(allow_none=True, metadata={
        "description": "on the normal side (debit-credit for assets and expenses, credit-debit otherwise); "
                       "null on headers"})
    balances = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                              metadata={"description": "per currency; headers roll up their leaves"})


class ChartSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ChartAccountSchema))


class TrialBalanceQuerySchema(ma.Schema):
    at = ma.fields.AwareDateTime(load_default=None,
                                 validate=ma.validate.Range(min=EARLIEST_MOMENT, max=LATEST_MOMENT))


class TrialBalanceLineSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    type = ma.fields.String()
    currency = ma.fields.String()
    debit = ma.fields.String()
    credit = ma.fields.String()


class TotalsSchema(ma.Schema):
    debit = ma.fields.String()
    credit = ma.fields.String()


class TrialBalanceSchema(ma.Schema):
    at = ma.fields.String()
    accounts = ma.fields.List(ma.fields.Nested(TrialBalanceLineSchema))
    totals = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(TotalsSchema))


class FiscalPeriodRequestSchema(ma.Schema):
    name = SafeText(required=True, validate=ma.validate.Length(min=1, max=100))
    start_date = ma.fields.Date(required=True)
    end_date = ma.fields.Date(required=True)


class FiscalPeriodSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    start_date = ma.fields.String()
    end_date = ma.fields.String()
    status = ma.fields.String(metadata={"description": "open or closed"})
    created_at = ma.fields.String()
    created_by = ma.fields.String()
    closed_at = ma.fields.String(allow_none=True)
    closed_by = ma.fields.String(allow_none=True)


class FiscalPeriodQuerySchema(PageQuerySchema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["open", "closed"]))


class FiscalPeriodPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FiscalPeriodSchema))
    next_cursor = ma.fields.String(allow_none=True)


# -- helpers -----------------------------------------------------------------------------------
def _admin() -> str:
    return f"admin:{require_role('admin').customer_id}"


def _write(who: str, action, *, key_required: bool) -> Response:
    """Run a books write once per Idempotency-Key (domain/books/keys.py), retried on transient errors."""
    key = read_key(key_required)
    session = request_session()
    request_hash = fingerprint(request.method, request.path, request.get_json(silent=True) or {})
    outcome = retry_transient(lambda: run_once(session, who, key, request_hash, action),
                              before_retry=session.rollback)
    response = Response(json.dumps(outcome.body), status=outcome.status,
                        mimetype=MEDIA_TYPE if outcome.status >= 400 else "application/json")
    if key is not None:
        response.headers["Idempotent-Replayed"] = "true" if outcome.replayed else "false"
    return response


def _line(raw: dict) -> LineInput:
    currency = raw["currency"].upper()
    debit = to_minor(parse_amount(raw["debit"], currency), currency) if raw.get("debit") else 0
    credit = to_minor(parse_amount(raw["credit"], currency), currency) if raw.get("credit") else 0
    return LineInput(raw["account_code"], currency, debit, credit)


# -- chart and trial balance -------------------------------------------------------------------------
@blp.get("/ledger/chart-of-accounts")
@blp.response(200, ChartSchema)
def chart_of_accounts():
    """The bank's chart of accounts with balances; customer accounts roll up under 2100
    (Customer deposits, a liability control account) per currency."""
    _admin()
    session = request_session()
    items = chart_with_balances(session)
    session.commit()  # sync_chart may have added a leaf for a new currency
    return {"items": items}


@blp.get("/reports/trial-balance")
@blp.arguments(TrialBalanceQuerySchema, location="query")
@blp.response(200, TrialBalanceSchema)
def report_trial_balance(query):
    """Per account of the chart, its balance as a debit or a credit at `at` (default now);
    per currency the debits equal the credits."""
    _admin()
    session = request_session()
    report = trial_balance(session, query["at"])
    session.commit()
    return report


# -- journal entries ------------------------------------------------------------------------
@blp.post("/journal-entries")
@blp.arguments(JournalEntryRequestSchema)
@blp.response(201, JournalEntrySchema)
@blp.doc(parameters=IDEMPOTENCY_REQUIRED)
def create_journal_entry(body):
    """A manual journal entry in `draft`: two or more lines, balanced per currency."""
    who = _admin()
    lines = [_line(raw) for raw in body["lines"]]

    def act(session):
        entry = create_entry(session, description=body["description"], effective_date=body["effective_date"],
                             lines=lines, created_by=who, request_id=current_request_id())
        return 201, entry.as_json()

    return _write(who, act, key_required=True)


@blp.get("/journal-entries")
@blp.arguments(JournalQuerySchema, location="query")
@blp.response(200, JournalPageSchema)
def journal_entries(query):
    """Manual journal entries, newest first; `?status=`."""
    _admin()
    entries, next_cursor = list_entries(request_session(), limit=query["limit"], cursor=query["cursor"],
                                        status=query["status"])
    return {"items": [e.as_json() for e in entries], "next_cursor": next_cursor}


@blp.get("/journal-entries/<entry_id>")
@blp.response(200, JournalEntrySchema)
def journal_entry(entry_id: str):
    _admin()
    return get_entry(request_session(), entry_id).as_json()


@blp.post("/journal-entries/<entry_id>/post")
@blp.response(200, JournalEntrySchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def post_journal_entry(entry_id: str):
    """draft -> posted (immutable from then on); else 409 invalid_state; 409 period_closed."""
    who = _admin()
    return _write(who, lambda session: (200, post_entry(session, entry_id, who).as_json()), key_required=False)


@blp.post("/journal-entries/<entry_id>/void")
@blp.response(200, JournalEntrySchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def void_journal_entry(entry_id: str):
    """draft -> voided; a posted entry is 409 invalid_state (correct it with a new entry)."""
    who = _admin()
    return _write(who, lambda session: (200, void_entry(session, entry_id, who).as_json()), key_required=False)


# -- fiscal periods ---------------------------------------------------------------------------
@blp.post("/fiscal-periods")
@blp.arguments(FiscalPeriodRequestSchema)
@blp.response(201, FiscalPeriodSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def create_fiscal_period(body):
    """An open fiscal period (dates inclusive, UTC); overlapping another is 409 period_overlaps."""
    who = _admin()

    def act(session):
        period = create_period(session, name=body["name"], start_date=body["start_date"],
                               end_date=body["end_date"], created_by=who)
        return 201, period.as_json()

    return _write(who, act, key_required=False)


@blp.get("/fiscal-periods")
@blp.arguments(FiscalPeriodQuerySchema, location="query")
@blp.response(200, FiscalPeriodPageSchema)
def fiscal_periods(query):
    """Fiscal periods, newest first by start date; `?status=`."""
    _admin()
    periods, next_cursor = list_periods(request_session(), limit=query["limit"], cursor=query["cursor"],
                                        status=query["status"])
    return {"items": [p.as_json() for p in periods], "next_cursor": next_cursor}


@blp.get("/fiscal-periods/<period_id>")
@blp.response(200, FiscalPeriodSchema)
def fiscal_period(period_id: str):
    _admin()
    return get_period(request_session(), period_id).as_json()


@blp.post("/fiscal-periods/<period_id>/close")
@blp.response(200, FiscalPeriodSchema)
@blp.doc(parameters=IDEMPOTENCY_OPTIONAL)
def close_fiscal_period(period_id: str):
    """open -> closed, once the period's last day is over (else 409 period_not_ended); from
    then on nothing posts with an effective date inside it (409 period_closed)."""
    who = _admin()
    return _write(who, lambda session: (200, close_period(session, period_id, who).as_json()), key_required=False)
