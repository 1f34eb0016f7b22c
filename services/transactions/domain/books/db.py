"""The books' database guards (migration 0007) answered as the refusal the domain gives first."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import Problem

GUARD_ANSWERS = {
    "period_closed": (409, "period_closed", "The fiscal period holding this date is closed."),
    "period_overlaps": (409, "period_overlaps", "The period overlaps another fiscal period."),
    "period_not_ended": (409, "period_not_ended", "A fiscal period is closed only after its last day."),
    "period_close_only": (409, "invalid_state", "The period is already closed."),
    "entry_state_change": (409, "invalid_state", "Only a draft entry is posted or voided."),
    "lines_on_drafts_only": (409, "invalid_state", "Only a draft entry takes lines."),
    "unbalanced_entry": (422, "unbalanced_entry", "The entry's debits and credits differ."),
    "manual_entry_has_lines": (422, "unbalanced_entry", "A journal entry has two or more lines."),
    "no_manual_customer_lines": (422, "validation_error", "Customer accounts take no manual lines."),
    "line_on_leaf_account": (422, "validation_error", "Lines go to leaf accounts of the chart."),
    "line_in_account_currency": (422, "validation_error", "A line is in its account's currency."),
}


@contextmanager
def guarded(session: Session) -> Iterator[None]:
    """Run the block in a savepoint; a books guard the database raised becomes its problem."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        if constraint in GUARD_ANSWERS:
            raise Problem(*GUARD_ANSWERS[constraint]) from None
        raise
