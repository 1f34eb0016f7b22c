"""Expiry of read notifications, which this MongoDB-wire server never applies from TTL."""
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from conftest import TEST_MONGO_DB
from devstack.stack import ROOT
from services.preferences.domain.inbox import purge_expired

from .factories import notification

NOW = datetime.now(timezone.utc)


def _seed(mongo_db):
    mongo_db.notifications.insert_many([
        notification("c1", NOW - timedelta(days=200), read_at=NOW - timedelta(days=91)),
        notification("c1", NOW - timedelta(days=200), read_at=NOW - timedelta(days=89)),
        notification("c1", NOW - timedelta(days=200), read_at=None),
    ])
    mongo_db.processed_events.insert_many([
        {"event_id": "old", "event_type": "t", "received_at": NOW - timedelta(days=31)},
        {"event_id": "new", "event_type": "t", "received_at": NOW - timedelta(days=1)},
    ])


def _left(mongo_db):
    return (sorted(str(n["read_at"] and (NOW - n["read_at"]).days)
                   for n in mongo_db.notifications.find()),
            [e["event_id"] for e in mongo_db.processed_events.find()])


def test_purge_removes_only_read_notifications_past_90_days(mongo_db):
    _seed(mongo_db)
    assert purge_expired(mongo_db, NOW) == {"notifications": 1, "processed_events": 1}
    assert _left(mongo_db) == (["89", "None"], ["new"])
    assert purge_expired(mongo_db, NOW) == {"notifications": 0, "processed_events": 0}


def test_python_m_purge_against_the_real_server(mongo_db, mongo_url):
    _seed(mongo_db)
    result = subprocess.run(
        [sys.executable, "-m", "services.preferences.purge", "--url", mongo_url,
         "--db", TEST_MONGO_DB], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 notifications, 1 processed_events removed" in result.stdout
    assert _left(mongo_db) == (["89", "None"], ["new"])


def test_flask_cli_command(preferences_app, mongo_db):
    _seed(mongo_db)
    result = preferences_app.test_cli_runner().invoke(args=["purge-expired"])
    assert result.exit_code == 0, result.output
    assert "1 notifications, 1 processed_events removed" in result.output
    assert _left(mongo_db) == (["89", "None"], ["new"])
