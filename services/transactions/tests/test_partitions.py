"""create-partitions: the coming months get their partitions; postings caught by the default move out."""
from datetime import date

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from database.migrations.tests.test_partitioning import _post, _snapshot, scratch_ledger
from services.common.sql import sqlalchemy_url
from services.transactions.cli import main as cli
from services.transactions.domain.ledger.partitions import Month, create_partitions, months_from


def test_months_run_across_the_year_end():
    assert [m.name for m in months_from(date(2026, 11, 30), 3)] == [
        "postings_y2026m11", "postings_y2026m12", "postings_y2027m01", "postings_y2027m02"]
    assert Month(date(2026, 12, 1)).upper == "2027-01-01 00:00:00+00"


@pytest.fixture
def ledger(stores):
    with scratch_ledger(stores, "head") as database:
        engine = create_engine(sqlalchemy_url(database.owner_url))
        yield database, engine
        engine.dispose()


def _run(engine, today):
    with Session(engine) as session, session.begin():
        return create_partitions(session, today, months_ahead=2)


def _where(cursor):
    return cursor.execute("SELECT tableoid::regclass::text, count(*) FROM postings GROUP BY 1 ORDER BY 1").fetchall()


def test_creates_the_missing_months_once(ledger):
    _, engine = ledger
    first = _run(engine, date(2031, 5, 10))
    assert first.created == ["postings_y2031m05", "postings_y2031m06", "postings_y2031m07"]
    assert first.moved_from_default == 0
    again = _run(engine, date(2031, 5, 31))
    assert again.created == [] and again.moved_from_default == 0


def test_moves_postings_out_of_the_default_and_keeps_every_guard(ledger):
    database, engine = ledger
    with psycopg.connect(database.owner_url) as connection:
        cursor = connection.cursor()
        _post(cursor, 700, "2031-02-03 10:00:00+00")  # no partition that far ahead: the default
        _post(cursor, 300, "2031-04-20 10:00:00+00")
        connection.commit()
        before = _snapshot(cursor)
        assert _where(cursor) == [("postings_default", 4)]

    run = _run(engine, date(2031, 2, 1))
    assert run.created == ["postings_y2031m02", "postings_y2031m03", "postings_y2031m04"]
    assert run.moved_from_default == 4

    with psycopg.connect(database.owner_url, autocommit=True) as connection:
        cursor = connection.cursor()
        assert _snapshot(cursor) == before
        assert _where(cursor) == [("postings_y2031m02", 2), ("postings_y2031m04", 2)]
        # The moved rows and the default are guarded again, by the parent's triggers.
        for statement in ("DELETE FROM postings_y2031m02", "UPDATE postings_y2031m04 SET amount = 1",
                          "UPDATE postings SET amount = amount + 1"):
            with pytest.raises(psycopg.errors.RestrictViolation):
                cursor.execute(statement)
        triggers = {row[0] for row in cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'postings_default'::regclass AND NOT tgisinternal")}
        assert {"postings_append_only", "postings_balanced", "postings_guard"} <= triggers
        indexes = {row[0] for row in cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'postings_y2031m04'::regclass")}
        assert any("(account_id, created_at" in index for index in indexes)
        with connection.transaction():
            _post(cursor, 50, "2031-04-21 10:00:00+00")
        assert _where(cursor)[-1] == ("postings_y2031m04", 4)


def test_the_command_reports_and_is_harmless_twice(ledger, monkeypatch, capsys):
    database, _ = ledger
    monkeypatch.setenv("DATABASE_URL", database.owner_url)
    assert cli(["create-partitions", "--date", "2032-01-15"]) == 0
    assert "4 partition(s) created: postings_y2032m01 postings_y2032m02 postings_y2032m03 postings_y2032m04" \
        in capsys.readouterr().err
    assert cli(["create-partitions", "--date", "2032-01-15"]) == 0
    assert "0 partition(s) created" in capsys.readouterr().err
