"""What the CronJobs of deploy/k8s do in production, run by `make up` in the background.

Each job is a CLI command of a service, run as a subprocess with that service's environment
(the owner's URL for DDL such as create-partitions) every `every` seconds, the first time at
start. Its output goes to the job's log under .data/logs; a failing run is logged and the next
one tries again, as a CronJob would.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Job:
    name: str
    service: str
    command: tuple[str, ...]
    every: float            # seconds
    owner: bool = False     # runs as the database owner (DDL)


JOBS = (
    Job("create-partitions", "transactions", ("create-partitions",), every=6 * 3600, owner=True),
    Job("expire-holds", "transactions", ("expire-holds",), every=60),
    Job("run-due", "transactions", ("run-due",), every=60),
    # The integrity check first, so the data-quality report that follows finds it recent.
    Job("ledger-check", "transactions", ("ledger-check",), every=3600),
    Job("data-quality", "transactions", ("data-quality",), every=900),
)


def start_jobs(environments: dict[str, dict[str, str]], databases, log_dir: Path,
               stop: threading.Event, jobs=JOBS) -> threading.Thread:
    log_dir.mkdir(parents=True, exist_ok=True)

    def loop() -> None:
        due = {job.name: 0.0 for job in jobs}
        while not stop.is_set():
            now = time.monotonic()
            for job in jobs:
                if now >= due[job.name]:
                    run_job(job, environments, databases, log_dir)
                    due[job.name] = time.monotonic() + job.every
            stop.wait(1.0)

    thread = threading.Thread(target=loop, name="devstack-jobs", daemon=True)
    thread.start()
    return thread


def run_job(job: Job, environments, databases, log_dir: Path) -> int:
    environment = dict(environments[job.service])
    if job.owner:
        environment["DATABASE_URL"] = databases[job.service].owner_url
    with open(log_dir / f"job-{job.name}.log", "a") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {' '.join(job.command)}\n")
        log.flush()
        try:
            return subprocess.run([sys.executable, "-m", f"services.{job.service}.cli", *job.command],
                                  env=environment, stdout=log, stderr=log, timeout=max(job.every, 50)).returncode
        except subprocess.TimeoutExpired:
            log.write("timed out\n")
            return 124
