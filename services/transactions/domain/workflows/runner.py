"""`python -m services.transactions.cli run-due [--date YYYY-MM-DD]`: the bank's automated
work for a day (default: today, UTC), each piece run once however often the command runs.

Every function in DUE_WORK takes (app, session_factory, day) and returns counts for the
report; each commits its own units of work, so a runner stopped half-way loses nothing and
the next run goes on from there.
"""
from __future__ import annotations

from datetime import date
from typing import Callable

from sqlalchemy.orm import Session

from ..publishing import App
from .bills import run_due_bills
from .schedules import run_due_schedules

DUE_WORK: list[Callable[[App, Callable[[], Session], date], dict[str, int]]] = [
    run_due_schedules,
    run_due_bills,
]


def run_due(app: App, session_factory: Callable[[], Session], day: date) -> dict[str, int]:
    report: dict[str, int] = {}
    with app.app_context():
        for work in DUE_WORK:
            report.update(work(app, session_factory, day))
    return report
