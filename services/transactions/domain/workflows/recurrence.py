"""When a schedule runs (API.md "Scheduled transfers, bills, rewards"): pure date rules, UTC.

- `once`: on its start date;
- `daily`: every day from the start date;
- `weekly`: every 7 days from the start date (the start date's weekday);
- `monthly`: on `day_of_month` of every month from the start date's month, the 29th-31st
  falling on the last day of a shorter month (the 31st runs on 28 or 29 February, 30 April);
each bounded by `end_date` (inclusive) when there is one.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterator

FREQUENCIES = ("once", "daily", "weekly", "monthly")


class ScheduleError(ValueError):
    """A schedule that cannot exist; `field` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Recurrence:
    frequency: str
    start_date: date
    end_date: date | None = None
    day_of_month: int | None = None

    def __post_init__(self):
        if self.frequency not in FREQUENCIES:
            raise ScheduleError("frequency", f"One of {', '.join(FREQUENCIES)}.")
        if self.end_date is not None and self.end_date < self.start_date:
            raise ScheduleError("end_date", "The end date is before the start date.")
        if self.frequency == "monthly":
            if self.day_of_month is None:
                raise ScheduleError("day_of_month", "A monthly schedule names its day of the month.")
        if self.day_of_month is not None and not 1 <= self.day_of_month <= 31:
            raise ScheduleError("day_of_month", "A day of the month is 1 to 31.")

    def dates(self, after: date | None = None) -> Iterator[date]:
        """The run dates in order, those after `after` only (all when None)."""
        for day in self._all():
            if self.end_date is not None and day > self.end_date:
                return
            if after is None or day > after:
                yield day

    def next_date(self, after: date | None = None) -> date | None:
        return next(self.dates(after), None)

    def due(self, since: date | None, until: date) -> list[date]:
        """Every run date after `since` (the last one handled) up to `until` inclusive: the
        runner's catch-up after an outage runs each missed date once."""
        found = []
        for day in self.dates(since):
            if day > until:
                break
            found.append(day)
        return found

    def _all(self) -> Iterator[date]:
        if self.frequency == "once":
            yield self.start_date
            return
        if self.frequency in ("daily", "weekly"):
            step = timedelta(days=1 if self.frequency == "daily" else 7)
            day = self.start_date
            while True:
                yield day
                day += step
        year, month = self.start_date.year, self.start_date.month
        while True:
            day = month_day(year, month, self.day_of_month)
            if day >= self.start_date:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            if year > 9999:
                return


def month_day(year: int, month: int, day_of_month: int) -> date:
    """`day_of_month` of the month, or its last day when the month is shorter."""
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))
