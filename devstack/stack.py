"""Start and stop the whole suite locally: stores, migrations, four gunicorn apps.

Used by `make up` (durable data under .data/) and by the test fixtures (throw-away data on
free ports). A store given by DATABASE_URL or MONGO_URL is used instead of the embedded one.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .databases import PG_SERVICES, ServiceDatabase, ensure_service_database
from .postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / ".cache"
MONGO_LAUNCHER_CACHE = CACHE_DIR / "mongo-launcher"
APPS = {  # name -> (gunicorn config, app factory, default port)
    "accounts": ("services/accounts/gunicorn.conf.py", "services.accounts.app:create_app()", 8081),
    "transactions": ("services/transactions/gunicorn.conf.py", "services.transactions.app:create_app()", 8082),
    "preferences": ("services/preferences/gunicorn.conf.py", "services.preferences.app:create_app()", 8083),
    "gateway": ("gateway/gunicorn.conf.py", "gateway.app:create_app()", 8080),
}
# Development keys only; production passes real ones through secrets (key formats and
# rotation: gateway/tokens.py, services/accounts/pii.py).
DEV_JWT_SIGNING_KEYS = "dev1:finova-dev-access-token-signing-key-change-me"
DEV_PII_ENCRYPTION_KEYS = "dev1:Zmlub3ZhLWRldi1waWkta2V5LWNoYW5nZS1tZS0xMjM="
# The admin login `make up` creates; production runs `python -m services.accounts.cli create-admin`.
DEV_ADMIN_EMAIL = "admin@finovabank.local"
DEV_ADMIN_PASSWORD = "Vault-Keeper-Dev-2026"


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, never one this process has handed out before: the kernel
    may give the same ephemeral port to two binds in a row once the first socket is closed,
    and two apps started on one port (gunicorn binds with SO_REUSEPORT) share its traffic."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


@dataclass
class Stores:
    """The PostgreSQL server and MongoDB-wire server in use, and what we started ourselves."""

    pg_admin_url: str
    mongo_url: str
    embedded_pg: EmbeddedPostgres | None = None
    mongo_process: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.mongo_process is not None:
            from database.mongodb.launcher import stop
            stop(self.mongo_process)
            self.mongo_process = None
        if self.embedded_pg is not None:
            self.embedded_pg.stop()
            self.embedded_pg = None


def start_stores(data_dir: Path, pg_port: int, mongo_port: int, durable: bool = True,
                 log=print) -> Stores:
    external_pg = os.environ.get("DATABASE_URL")
    external_mongo = os.environ.get("MONGO_URL")
    embedded_pg = None
    if external_pg:
        log("PostgreSQL: using DATABASE_URL")
        pg_admin_url = external_pg
    else:
        embedded_pg = EmbeddedPostgres(data_dir / "postgres", pg_port, durable=durable)
        embedded_pg.start()
        pg_admin_url = embedded_pg.admin_url
        log(f"PostgreSQL: embedded server on 127.0.0.1:{pg_port} (data in {embedded_pg.data_dir})")
    stores = Stores(pg_admin_url=pg_admin_url, mongo_url="", embedded_pg=embedded_pg)
    try:
        if external_mongo:
            log("MongoDB: using MONGO_URL")
            stores.mongo_url = external_mongo
        else:
            from database.mongodb.launcher import start
            data_file = (data_dir / "mongodb" / "finova") if durable else None
            stores.mongo_process = start(mongo_port, MONGO_LAUNCHER_CACHE, data_file=data_file,
                                         log_path=data_dir / "mongodb.log")
            stores.mongo_url = f"mongodb://127.0.0.1:{mongo_port}"
            where = f"data in {data_file}" if data_file else "in memory"
            log(f"MongoDB wire: mongo-java-server on 127.0.0.1:{mongo_port} ({where})")
    except BaseException:
        stores.stop()
        raise
    return stores


def prepare_databases(stores: Stores, prefix: str = "") -> dict[str, ServiceDatabase]:
    return {service: ensure_service_database(stores.pg_admin_url, service, prefix)
            for service in PG_SERVICES}


def migrate(databases: dict[str, ServiceDatabase], mongo_url: str, mongo_db: str, log=print) -> None:
    from database.migrations.runner import upgrade
    from database.mongodb.migrate import apply_migrations
    from pymongo import MongoClient

    for service, database in databases.items():
        upgrade(service, database.owner_url)
        log(f"migrated {service} (PostgreSQL database {database.database}) to head")
    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        applied = apply_migrations(client[mongo_db], log=log)
    log(f"migrated preferences (MongoDB database {mongo_db}): {len(applied)} new script(s)")


@dataclass
class AppProcesses:
    ports: dict[str, int]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def stop(self, timeout: float = 15) -> None:
        # The gateway first, so nothing new reaches the services while they drain.
        for name in ("gateway", "preferences", "transactions", "accounts"):
            process = self.processes.pop(name, None)
            if process is not None:
                stop_process(process, timeout)


def development_internal_keys() -> dict[str, str]:
    """Each app's own signing key for internal tokens (services/common/service_auth.py): the
    published development keys, which tests also sign with; refused in production."""
    from services.common.service_auth import development_signing_key
    return {name: development_signing_key(name) for name in APPS}


def app_environment(ports: dict[str, int], databases: dict[str, ServiceDatabase],
                    mongo_url: str, mongo_db: str, extra: dict[str, str] | None = None,
                    signing_keys: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Each app's environment. Internal tokens: every app signs with its own key from
    `signing_keys` (default: the development keys) and trusts the others' public keys; an
    INTERNAL_TOKEN_SECRET in `extra` is a shared secret for all instead (benchmarks, older tests)."""
    from services.common.service_auth import trusted_keys_text
    signing_keys = signing_keys or development_internal_keys()
    shared_secret = (extra or {}).get("INTERNAL_TOKEN_SECRET")
    base = {
        "PYTHONPATH": str(ROOT),
        "INTERNAL_TRUSTED_KEYS": trusted_keys_text(signing_keys),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "ACCOUNTS_URL": f"http://127.0.0.1:{ports['accounts']}",
        "TRANSACTIONS_URL": f"http://127.0.0.1:{ports['transactions']}",
        "PREFERENCES_URL": f"http://127.0.0.1:{ports['preferences']}",
        **(extra or {}),
    }
    environments = {
        "accounts": {**base, "DATABASE_URL": databases["accounts"].app_url,
                     "PII_ENCRYPTION_KEYS": os.environ.get("PII_ENCRYPTION_KEYS", DEV_PII_ENCRYPTION_KEYS)},
        "transactions": {**base, "DATABASE_URL": databases["transactions"].app_url},
        "preferences": {**base, "MONGO_URL": mongo_url, "MONGO_DB": mongo_db},
        # Keys given in `extra` (tests, benchmarks) win over the environment's or the dev ones.
        "gateway": {"JWT_SIGNING_KEYS": os.environ.get("JWT_SIGNING_KEYS", DEV_JWT_SIGNING_KEYS), **base},
    }
    for name, environment in environments.items():
        environment["INTERNAL_TOKEN_SECRET"] = shared_secret or signing_keys[name]
    return environments


def ensure_admin(databases: dict[str, ServiceDatabase], log=print) -> tuple[str, str]:
    """Create (or refresh) the admin login from FINOVA_ADMIN_EMAIL / FINOVA_ADMIN_PASSWORD."""
    email = os.environ.get("FINOVA_ADMIN_EMAIL", DEV_ADMIN_EMAIL)
    password = os.environ.get("FINOVA_ADMIN_PASSWORD", DEV_ADMIN_PASSWORD)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": databases["accounts"].app_url,
           "FINOVA_ADMIN_EMAIL": email, "FINOVA_ADMIN_PASSWORD": password}
    result = subprocess.run([sys.executable, "-m", "services.accounts.cli", "create-admin"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"creating the admin login failed: {result.stderr.strip()}")
    log(result.stdout.strip())
    return email, password


def start_apps(ports: dict[str, int], environments: dict[str, dict[str, str]], log_dir: Path,
               names: tuple[str, ...] = ("accounts", "transactions", "preferences", "gateway"),
               timeout: float = 60) -> AppProcesses:
    apps = AppProcesses(ports=ports, log_dir=log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        for name in names:
            apps.processes[name] = start_app(name, ports[name], environments[name], log_dir)
        for name in names:
            wait_until_healthy(apps.url(name), apps.processes[name], log_dir / f"{name}.log", timeout)
    except BaseException:
        apps.stop()
        raise
    return apps


def start_app(name: str, port: int, environment: dict[str, str], log_dir: Path) -> subprocess.Popen:
    config, factory, _ = APPS[name]
    # The stack-level store URLs name whole servers; each app gets only its own database.
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL")}
    env = {**inherited, **environment, "PORT": str(port)}
    log_file = open(log_dir / f"{name}.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / config), factory],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            raise RuntimeError(f"{url} exited with {process.returncode} during start:\n{tail}")
        try:
            if requests.get(url + "/healthz", timeout=0.5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer /healthz within {timeout:.0f}s (log: {log_path})")


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
