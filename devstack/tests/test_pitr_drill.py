"""Point-in-time recovery drill: archive WAL, take a base backup, post transfers around a
moment T, restore a new server to T, and check it holds exactly the ledger of T.

The drill runs on servers of its own (devstack.pitr starts them on free ports in a directory
of this run), never on the run's shared stores.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime

import pytest

from devstack.pitr import OPENING_BALANCE_CENTS, archive_settings, drill, restore_to_time
from devstack.stack import ROOT

pytestmark = pytest.mark.e2e
ACCOUNTS = 40
TRANSFERS = 150  # before T, and as many again after it


@pytest.fixture(scope="module")
def report():
    work_dir = ROOT / ".data" / "test" / f"pitr-{os.getpid()}"
    shutil.rmtree(work_dir, ignore_errors=True)
    try:
        yield drill(work_dir, accounts=ACCOUNTS, transfers=TRANSFERS)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def test_restored_ledger_is_the_ledger_at_the_target_time(report):
    assert len(report.balances_at_target) == ACCOUNTS
    assert report.balances_restored == report.balances_at_target
    assert report.transfers_restored == report.transfers_at_target == TRANSFERS
    # The transfers after T moved money, and none of them came back.
    assert report.balances_final != report.balances_at_target
    # Transfers only move money: every state holds what the accounts opened with.
    for state in (report.balances_at_target, report.balances_final, report.balances_restored):
        assert sum(state.values()) == ACCOUNTS * OPENING_BALANCE_CENTS


def test_recovery_stopped_at_the_first_commit_after_the_target(report):
    stopped = report.recovery.stopped_before_commit_at
    assert stopped is not None, "the restored server's log does not say where recovery stopped"
    assert datetime.fromisoformat(stopped) > report.target_time


def test_restored_server_was_promoted_and_takes_writes(report):
    assert report.restored_wrote_transfer


def test_drill_measured_its_figures(report):
    figures = report.figures
    assert figures["base_backup_seconds"] > 0 and figures["restore_seconds"] > 0
    assert figures["base_backup_bytes"] > 1_000_000  # a real cluster's files, not an empty tar
    # The backup's own segment and the transfers' segment(s), at least.
    assert figures["archived_segments"] >= 2
    assert 100 < figures["wal_bytes_per_transfer_later"] <= figures["wal_bytes_per_transfer_first"]
    assert report.recovery.redo_seconds is not None


def test_archive_command_never_overwrites_a_segment(tmp_path):
    archive = tmp_path / "it's archive"  # a quote and a space: the command must quote the path
    archive.mkdir()
    segment = tmp_path / "000000010000000000000001"
    segment.write_bytes(b"first")
    command = archive_settings(archive)["archive_command"]
    # From the postgresql.conf literal to the command the server runs, %p and %f filled in.
    command = command[1:-1].replace("''", "'").replace("%p", str(segment)).replace("%f", segment.name)

    assert subprocess.run(["sh", "-c", command]).returncode == 0
    assert (archive / segment.name).read_bytes() == b"first"
    segment.write_bytes(b"second")
    assert subprocess.run(["sh", "-c", command]).returncode != 0
    assert (archive / segment.name).read_bytes() == b"first"


def test_restore_refuses_an_existing_data_directory(tmp_path):
    existing = tmp_path / "data"
    existing.mkdir()
    (existing / "keep").write_text("mine")
    with pytest.raises(RuntimeError, match="new data directory"):
        restore_to_time(tmp_path / "backup", tmp_path / "archive", existing, 1, datetime.now())
    assert (existing / "keep").read_text() == "mine"
