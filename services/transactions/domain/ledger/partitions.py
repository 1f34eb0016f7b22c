"""Monthly partitions of postings (migration 0011): the coming months created ahead of time.

`create_partitions` (the `create-partitions` command, a daily CronJob) makes sure the current
UTC month and the next `months_ahead` each have their partition `postings_yYYYYmMM`. A posting
whose month has no partition lands in `postings_default` instead of failing; PostgreSQL then
refuses to create that month's partition while the default holds rows of it, so the command
moves them: it detaches the default (which drops its copies of the parent's triggers, so the
append-only guard does not see a move as a delete), copies the month's rows into a new table,
removes them from the detached default, and attaches both back. Row counts are compared before
the transaction commits: a move loses or duplicates nothing, and the parent's triggers are
cloned again onto both tables by the attach.

All of it runs in one transaction under a lock on postings (ACCESS EXCLUSIVE while partitions
are created: postings wait for a moment, at most `lock_timeout` for the lock itself). It needs
the owner's role (DDL), like the migrations.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

MONTHS_AHEAD = 3
DEFAULT = "postings_default"


@dataclass(frozen=True)
class Month:
    first: date

    @property
    def name(self) -> str:
        return f"postings_y{self.first.year:04d}m{self.first.month:02d}"

    @property
    def lower(self) -> str:
        return f"{self.first.isoformat()} 00:00:00+00"

    @property
    def upper(self) -> str:
        return f"{self.following().first.isoformat()} 00:00:00+00"

    def following(self) -> "Month":
        year, month = divmod(self.first.year * 12 + self.first.month, 12)
        return Month(date(year, month + 1, 1))


def months_from(today: date, months_ahead: int) -> list[Month]:
    """The month of `today` and the `months_ahead` after it."""
    months = [Month(today.replace(day=1))]
    for _ in range(months_ahead):
        months.append(months[-1].following())
    return months


@dataclass
class PartitionRun:
    created: list[str] = field(default_factory=list)
    moved_from_default: int = 0


def create_partitions(session: Session, today: date, months_ahead: int = MONTHS_AHEAD) -> PartitionRun:
    """Create the missing partitions from today's month to `months_ahead` later; commit is the caller's."""
    months = months_from(today, months_ahead)
    return create_months(session, months[0].first, months[-1].first)


def months_between(first: date, last: date) -> list[Month]:
    months = [Month(first.replace(day=1))]
    while months[-1].following().first <= last:
        months.append(months[-1].following())
    return months


def create_months(session: Session, first: date, last: date) -> PartitionRun:
    """Every month's partition from `first`'s month to `last`'s that is missing (the seed's
    history, the coming months); commit is the caller's."""
    session.execute(text("SET LOCAL lock_timeout = '10s'"))
    run = PartitionRun()
    existing = _partitions(session)
    missing = [month for month in months_between(first, last) if month.name not in existing]
    if not missing:
        return run
    session.execute(text("LOCK TABLE postings IN ACCESS EXCLUSIVE MODE"))
    has_default = DEFAULT in _partitions(session)
    for month in missing:
        stray = _rows_in_default(session, month) if has_default else 0
        if stray:
            run.moved_from_default += _create_moving_from_default(session, month, stray)
        else:
            session.execute(text(f"CREATE TABLE {month.name} PARTITION OF postings "
                                 f"FOR VALUES FROM ('{month.lower}') TO ('{month.upper}')"))
        run.created.append(month.name)
    return run


def _partitions(session: Session) -> set[str]:
    return set(session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'postings'::regclass")).scalars())


def _rows_in_default(session: Session, month: Month) -> int:
    return session.execute(text(f"SELECT count(*) FROM {DEFAULT} WHERE created_at >= :lower AND created_at < :upper"),
                           {"lower": month.lower, "upper": month.upper}).scalar_one()


def _create_moving_from_default(session: Session, month: Month, stray: int) -> int:
    total = session.execute(text("SELECT count(*) FROM postings")).scalar_one()
    columns = ", ".join(f'"{name}"' for name in session.execute(text(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'postings'::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum")).scalars())
    in_month = "created_at >= :lower AND created_at < :upper"
    bounds = {"lower": month.lower, "upper": month.upper}
    session.execute(text(f"ALTER TABLE postings DETACH PARTITION {DEFAULT}"))
    session.execute(text(f"CREATE TABLE {month.name} (LIKE postings INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                         "INCLUDING STORAGE INCLUDING COMPRESSION)"))
    session.execute(text(f"INSERT INTO {month.name} ({columns}) SELECT {columns} FROM {DEFAULT} WHERE {in_month}"),
                    bounds)
    deleted = session.execute(text(f"DELETE FROM {DEFAULT} WHERE {in_month}"), bounds).rowcount
    session.execute(text(f"ALTER TABLE postings ATTACH PARTITION {month.name} "
                         f"FOR VALUES FROM ('{month.lower}') TO ('{month.upper}')"))
    session.execute(text(f"ALTER TABLE postings ATTACH PARTITION {DEFAULT} DEFAULT"))
    after = session.execute(text("SELECT count(*) FROM postings")).scalar_one()
    moved = session.execute(text(f"SELECT count(*) FROM {month.name}")).scalar_one()
    if deleted != stray or moved != stray or after != total:
        raise RuntimeError(f"moving {month.name} out of {DEFAULT}: {stray} rows expected, {moved} copied, "
                           f"{deleted} removed, {total} -> {after} in all; rolled back")
    return moved
