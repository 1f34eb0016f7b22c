"""The transactions service: the double-entry ledger (PostgreSQL)."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError

from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

from services.common.app_factory import create_service_app
from services.common.config import Setting, as_bool, as_positive_float, as_url
from services.common.events_api import events_blueprint
from services.common.outbox_wiring import init_outbox, pg_event_receiver
from services.common.problems import problem_response
from services.common.sql import init_read_replica, init_sql

from .api import admin, books, external, fx, holds, internal, ledger_check, reference, statements, transfers
from .api import balance_history, bills, budgets, categories, category_rules, data_quality, rewards, risk, schedules

# The API's blueprints, one module a line: each feature adds its own line.
BLUEPRINT_MODULES = (
    reference,
    transfers,
    statements,
    admin,
    ledger_check,
    internal,
    fx,
    books,
    holds,
    external,
    schedules,
    bills,
    rewards,
    categories,
    balance_history,
    risk,
    data_quality,
    category_rules,
    budgets,
)
from .accounts_service import accounts_client
from .domain import publishing
from .domain.insights import hooks as _money_management  # noqa: F401 - registers categories and spending on posting
from .events import EVENT_ROUTES, HANDLERS
from .metrics import init_ledger_metrics
from .models import outbox_events, processed_events

log = logging.getLogger(__name__)

SETTINGS = [
    Setting("DATABASE_URL", as_url),
    # A streaming replica for statement reads (lags by its replication delay); unset: the primary.
    Setting("READ_DATABASE_URL", as_url, None),
    Setting("PREFERENCES_URL", as_url, "http://127.0.0.1:8083"),
    # The data-quality report compares the ledger's accounts with the accounts service's.
    Setting("ACCOUNTS_URL", as_url, "http://127.0.0.1:8081"),
    Setting("OUTBOX_RELAY", as_bool, True),
    Setting("OUTBOX_RELAY_INTERVAL", as_positive_float, 1.0),
]


def create_app(config: Mapping[str, Any] | None = None):
    app, api = create_service_app("transactions", SETTINGS, config, instrumentors=(PsycopgInstrumentor,))
    init_sql(app, app.config["DATABASE_URL"])
    init_read_replica(app, app.config["READ_DATABASE_URL"])
    init_outbox(app, outbox_events, EVENT_ROUTES,
                destinations={"preferences": app.config["PREFERENCES_URL"]})
    init_ledger_metrics(app)
    app.extensions["accounts"] = accounts_client(app.config["ACCOUNTS_URL"], app.config["INTERNAL_TOKEN_SECRET"])
    for module in BLUEPRINT_MODULES:
        api.register_blueprint(module.blp)
    api.register_blueprint(events_blueprint(pg_event_receiver(app, processed_events, HANDLERS)))
    app.register_error_handler(IntegrityError, _integrity_problem)
    publishing.running_app = _running_app
    return app


def _running_app():
    """The app of the current Flask context, if any: the one the posting hooks publish through."""
    return current_app._get_current_object() if has_app_context() else None


# Database guards (migrations 0002, 0005) the domain checks before them; reaching one means
# a race the locks did not cover, answered as the refusal the domain would have given.
RACE_ANSWERS = {
    "entry_reversed_once": (409, "already_reversed", "This transfer has already been reversed."),
    "posting_to_closed_account": (409, "account_closed", "The account is closed."),
    "closed_is_terminal": (409, "account_closed", "The account is closed; closing is final."),
    "closed_account_is_empty": (409, "account_not_empty", "The account still holds money or holds."),
    "balance_within_overdraft": (422, "insufficient_funds", "The account cannot cover this amount."),
}


def _integrity_problem(error: IntegrityError):
    # The database's own guards (see the ledger migration); the domain checks first, so
    # reaching one means a race the locks did not cover, answered as a conflict.
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    if constraint in RACE_ANSWERS:
        return problem_response(*RACE_ANSWERS[constraint])
    log.error("integrity error", exc_info=error, extra={"constraint": constraint})
    return problem_response(500, "internal_error", "An unexpected error occurred.")
