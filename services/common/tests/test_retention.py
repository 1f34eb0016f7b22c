"""`purge`: idempotency keys, delivered outbox rows and processed events past retention go,
in batches; pending and dead-lettered rows stay; a retention below 24 h is refused."""
import uuid

import pytest
from sqlalchemy import text

OLD_DAYS, RECENT_DAYS = 31, 29


def seed(engine, with_keys=True):
    with engine.begin() as connection:
        for age, state in ((OLD_DAYS, "delivered"), (RECENT_DAYS, "delivered"), (OLD_DAYS, "pending"),
                           (OLD_DAYS, "dead"), (OLD_DAYS, "delivered"), (OLD_DAYS, "delivered")):
            when = f"now() - interval '{age} days'"
            connection.execute(text(
                "INSERT INTO outbox_events (event_id, event_type, destination, payload, created_at, "
                f"delivered_at, dead_lettered_at) VALUES (:id, :kind, 'preferences', '{{}}', {when}, "
                f"{when if state == 'delivered' else 'NULL'}, {when if state == 'dead' else 'NULL'})"),
                {"id": uuid.uuid4(), "kind": f"{state}-{age}"})
        for age in (OLD_DAYS, OLD_DAYS, OLD_DAYS, RECENT_DAYS):
            connection.execute(text(
                "INSERT INTO processed_events (event_id, event_type, source, received_at) "
                f"VALUES (:id, 'e-{age}', 'test', now() - interval '{age} days')"), {"id": uuid.uuid4()})
        if with_keys:
            for hours in (169, 170, 171, 167, 1):
                connection.execute(text(
                    "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) "
                    f"VALUES ('transfer:c1', :key, 'h', now() - interval '{hours} hours')"), {"key": f"k{hours}"})


def left(engine):
    with engine.connect() as connection:
        outbox = sorted(r[0] for r in connection.execute(text("SELECT event_type FROM outbox_events")))
        events = sorted(r[0] for r in connection.execute(text("SELECT event_type FROM processed_events")))
        keys = sorted(r[0] for r in connection.execute(text("SELECT key FROM idempotency_keys"))) \
            if connection.execute(text("SELECT to_regclass('idempotency_keys')")).scalar() else None
    return outbox, events, keys


def test_the_ledgers_purge_removes_only_what_is_past_retention(transactions_db, owner_engines, capsys):
    from services.transactions.cli import main
    engine = owner_engines["transactions"]
    seed(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", transactions_db.app_url)
        patch.setenv("PURGE_BATCH_SIZE", "2")  # several batches per table
        assert main(["purge"]) == 0
    assert "3 idempotency keys, 3 delivered outbox rows, 3 processed events removed" in capsys.readouterr().err
    outbox, events, keys = left(engine)
    assert outbox == ["dead-31", "delivered-29", "pending-31"]
    assert events == ["e-29"]
    assert keys == ["k1", "k167"]


def test_the_idempotency_retention_is_configurable_but_never_below_a_day(transactions_db, owner_engines, capsys):
    from services.transactions.cli import main
    engine = owner_engines["transactions"]
    seed(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", transactions_db.app_url)
        patch.setenv("IDEMPOTENCY_RETENTION_HOURS", "23")
        assert main(["purge"]) == 2
        assert "IDEMPOTENCY_RETENTION_HOURS is malformed" in capsys.readouterr().err
        assert left(engine)[2] == ["k1", "k167", "k169", "k170", "k171"]  # nothing deleted
        patch.setenv("IDEMPOTENCY_RETENTION_HOURS", "24")
        patch.setenv("OUTBOX_RETENTION_DAYS", "40")
        assert main(["purge"]) == 0
    outbox, events, keys = left(engine)
    assert keys == ["k1"] and len(outbox) == 6 and len(events) == 4


def test_the_accounts_purge_removes_delivered_rows_and_processed_events(accounts_db, owner_engines, capsys):
    from services.accounts.cli import main
    engine = owner_engines["accounts"]
    seed(engine, with_keys=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", accounts_db.app_url)
        assert main(["purge"]) == 0
    assert "3 delivered outbox rows, 3 processed events removed" in capsys.readouterr().err
    outbox, events, _ = left(engine)
    assert outbox == ["dead-31", "delivered-29", "pending-31"] and events == ["e-29"]
