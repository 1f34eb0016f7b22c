"""Schedule dates: once, daily, weekly, monthly on a day (the 31st on the last day of shorter
months, February in leap years too), bounded by the end date; catching up missed dates once."""
from datetime import date

import pytest

from services.transactions.domain.workflows.recurrence import Recurrence, ScheduleError, month_day


def take(recurrence, n, after=None):
    found = []
    for day in recurrence.dates(after):
        found.append(day)
        if len(found) == n:
            break
    return found


def test_once_runs_on_its_start_date_only():
    assert list(Recurrence("once", date(2026, 3, 5)).dates()) == [date(2026, 3, 5)]
    assert Recurrence("once", date(2026, 3, 5)).next_date(after=date(2026, 3, 5)) is None


def test_daily_and_weekly_step_from_the_start_and_stop_at_the_end():
    assert list(Recurrence("daily", date(2026, 2, 27), date(2026, 3, 2)).dates()) == [
        date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2)]
    assert take(Recurrence("weekly", date(2026, 12, 29)), 3) == [
        date(2026, 12, 29), date(2027, 1, 5), date(2027, 1, 12)]


def test_monthly_on_the_31st_runs_on_the_last_day_of_shorter_months():
    assert take(Recurrence("monthly", date(2027, 1, 1), day_of_month=31), 5) == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    assert take(Recurrence("monthly", date(2028, 1, 31), day_of_month=31), 2) == [
        date(2028, 1, 31), date(2028, 2, 29)]  # a leap year
    # A start after the month's day begins next month.
    assert take(Recurrence("monthly", date(2027, 1, 15), day_of_month=10), 2) == [
        date(2027, 2, 10), date(2027, 3, 10)]
    assert month_day(2027, 2, 30) == date(2027, 2, 28)


def test_catching_up_lists_each_missed_date_once():
    daily = Recurrence("daily", date(2026, 12, 1))
    assert daily.due(since=date(2026, 12, 3), until=date(2026, 12, 6)) == [
        date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)]
    assert daily.due(since=date(2026, 12, 6), until=date(2026, 12, 6)) == []
    assert daily.due(since=None, until=date(2026, 12, 1)) == [date(2026, 12, 1)]


@pytest.mark.parametrize("args, field", [
    (("fortnightly", date(2026, 1, 1)), "frequency"),
    (("daily", date(2026, 1, 2), date(2026, 1, 1)), "end_date"),
    (("monthly", date(2026, 1, 1)), "day_of_month"),
    (("monthly", date(2026, 1, 1), None, 32), "day_of_month"),
    (("monthly", date(2026, 1, 1), None, 0), "day_of_month"),
])
def test_impossible_schedules_name_their_field(args, field):
    with pytest.raises(ScheduleError) as error:
        Recurrence(*args)
    assert error.value.field == field
