"""`make up`'s background jobs: the CronJobs' commands run against the local stores."""
import threading
import time

from devstack.jobs import JOBS, Job, run_job, start_jobs
from devstack.stack import app_environment


def _environments(databases, stores):
    ports = {"accounts": 1, "transactions": 2, "preferences": 3, "gateway": 4}
    return app_environment(ports, databases, stores.mongo_url, "unused")


def test_every_job_runs_its_command_and_succeeds(databases, stores, tmp_path):
    environments = _environments(databases, stores)
    for job in JOBS:
        code = run_job(job, environments, databases, tmp_path)
        # The data-quality report exits 1 on a failing check: here the accounts service it
        # compares with is not running (port 1), which its completeness check reports.
        assert code == (1 if job.name == "data-quality" else 0), (tmp_path / f"job-{job.name}.log").read_text()
    assert "ledger ok" in (tmp_path / "job-ledger-check.log").read_text()
    assert "accounts_compared\tfail" in (tmp_path / "job-data-quality.log").read_text()
    assert "partition(s) created" in (tmp_path / "job-create-partitions.log").read_text()
    assert "hold(s) expired" in (tmp_path / "job-expire-holds.log").read_text()
    assert "run-due " in (tmp_path / "job-run-due.log").read_text()


def test_the_loop_runs_each_job_at_start_and_a_failure_does_not_stop_it(databases, stores, tmp_path):
    stop = threading.Event()
    jobs = (Job("broken", "transactions", ("no-such-command",), every=3600),
            Job("expire-holds", "transactions", ("expire-holds",), every=3600))
    thread = start_jobs(_environments(databases, stores), databases, tmp_path, stop, jobs=jobs)
    deadline = time.monotonic() + 60
    while not (tmp_path / "job-expire-holds.log").exists() or "expired" not in \
            (tmp_path / "job-expire-holds.log").read_text():
        assert time.monotonic() < deadline, "expire-holds never ran"
        time.sleep(0.2)
    stop.set()
    thread.join(timeout=10)
    assert "invalid choice" in (tmp_path / "job-broken.log").read_text()
