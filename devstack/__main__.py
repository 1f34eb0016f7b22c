"""python -m devstack up|down|migrate|clean — what the Makefile's targets run."""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time

from .jobs import JOBS, start_jobs
from .local import (DATA_DIR, MONGO_DB, STATE_FILE, app_ports, running_supervisor, store_ports,
                    write_state)
from .stack import (app_environment, ensure_admin, migrate, port_open, prepare_databases, start_apps,
                    start_stores)

def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def up() -> int:
    if running_supervisor():
        _say(f"the suite is already running (pid {running_supervisor()}); `make down` stops it")
        return 1
    ports = app_ports()
    busy = [f"{name}:{port}" for name, port in ports.items() if port_open(port)]
    if busy:
        _say(f"ports in use: {', '.join(busy)}; set <NAME>_PORT to move an app")
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    pg_port, mongo_port = store_ports()
    stores = start_stores(DATA_DIR, pg_port, mongo_port, durable=True, log=_say)
    apps = None
    try:
        databases = prepare_databases(stores)
        migrate(databases, stores.mongo_url, MONGO_DB, log=_say)
        admin_email, _ = ensure_admin(databases, log=_say)
        _load_demo_data(databases)
        environments = app_environment(ports, databases, stores.mongo_url, MONGO_DB)
        apps = start_apps(ports, environments, DATA_DIR / "logs")
        start_jobs(environments, databases, DATA_DIR / "logs", stop)
        write_state()
        _say("FinovaBank is up:")
        for name in ("gateway", "accounts", "transactions", "preferences"):
            _say(f"  {name:<13} {apps.url(name)}   (readiness: {apps.url(name)}/readyz)")
        _say(f"  public API    {apps.url('gateway')}/api/v1/...")
        _say(f"  admin login   {admin_email} (FINOVA_ADMIN_EMAIL / FINOVA_ADMIN_PASSWORD; see README)")
        _say(f"  jobs          {', '.join(job.name for job in JOBS)} (the CronJobs' commands, in the background)")
        _say(f"logs in {DATA_DIR / 'logs'}; Ctrl-C or `make down` stops everything")
        while not stop.is_set():
            for name, process in apps.processes.items():
                if process.poll() is not None:
                    _say(f"{name} exited with {process.returncode}; stopping the suite")
                    stop.set()
            stop.wait(1.0)
    finally:
        _say("stopping...")
        if apps is not None:
            apps.stop()
        stores.stop()
        STATE_FILE.unlink(missing_ok=True)
        _say("stopped")
    return 0


def _load_demo_data(databases) -> None:
    """Demo customers, accounts and history on the first start (empty databases); `make seed`
    or FINOVA_DEMO_CUSTOMERS / FINOVA_DEMO_TRANSACTIONS give the bank's scale."""
    from services.accounts.seed import AlreadySeeded
    from services.transactions.demo_rates import load_demo_rates
    from services.transactions.seed import SeedRefused

    from .seed import seed
    if load_demo_rates(databases["transactions"].owner_url):  # only into a database without rates
        _say("demo data: FX rates loaded")
    customers = int(os.environ.get("FINOVA_DEMO_CUSTOMERS", "100"))
    transactions = int(os.environ.get("FINOVA_DEMO_TRANSACTIONS", "5000"))
    if customers <= 0:
        _say("demo data: skipped (FINOVA_DEMO_CUSTOMERS=0)")
        return
    try:
        seed(databases["accounts"].owner_url, databases["transactions"].owner_url, customers, transactions,
             DATA_DIR / "seed" / "accounts-manifest.csv")
    except (AlreadySeeded, SeedRefused):
        _say("demo data: already loaded")


def down() -> int:
    pid = running_supervisor()
    if pid is None:
        _say("the suite is not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            _say("stopped")
            return 0
        time.sleep(0.2)
    _say(f"pid {pid} did not stop within 60s")
    return 1


def migrate_only() -> int:
    """Apply migrations, starting the embedded stores for the duration if they are not up."""
    if running_supervisor():
        _say("the suite is running and was migrated when it started; `make down` first to migrate again")
        return 0
    pg_port, mongo_port = store_ports()
    stores = start_stores(DATA_DIR, pg_port, mongo_port, durable=True, log=_say)
    try:
        migrate(prepare_databases(stores), stores.mongo_url, MONGO_DB, log=_say)
    finally:
        stores.stop()
    return 0


def clean() -> int:
    if running_supervisor():
        _say("the suite is running; `make down` first")
        return 1
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    _say(f"removed {DATA_DIR}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=("up", "down", "migrate", "clean"))
    command = parser.parse_args().command
    return {"up": up, "down": down, "migrate": migrate_only, "clean": clean}[command]()


if __name__ == "__main__":
    sys.exit(main())
