"""Each PostgreSQL service's database and roles, created on whichever server we were given."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from .postgres import bin_dir

ROOT = Path(__file__).resolve().parent.parent
SERVICE_DATABASE_SQL = ROOT / "database" / "postgres" / "service_database.sql"
PG_SERVICES = ("accounts", "transactions")


@dataclass(frozen=True)
class ServiceDatabase:
    service: str
    database: str
    owner_url: str  # runs migrations
    app_url: str    # what the service runs as


def _with_credentials(admin_url: str, user: str, password: str, database: str) -> str:
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user)}:{quote(password)}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


def service_database(admin_url: str, service: str, prefix: str = "") -> ServiceDatabase:
    database = f"{prefix}{service}"
    # Development passwords; production passes real ones through secrets (docs/operations.md).
    owner, app = f"{prefix}{service}_owner", f"{prefix}{service}_app"
    return ServiceDatabase(
        service=service, database=database,
        owner_url=_with_credentials(admin_url, owner, f"{owner}-dev-password", database),
        app_url=_with_credentials(admin_url, app, f"{app}-dev-password", database),
    )


def psql(admin_url: str, *args: str) -> str:
    psql_bin = bin_dir() / "psql"
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    result = subprocess.run([str(psql_bin), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin_url,
                             *args], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout


def ensure_service_database(admin_url: str, service: str, prefix: str = "") -> ServiceDatabase:
    target = service_database(admin_url, service, prefix)
    owner = urlsplit(target.owner_url)
    app = urlsplit(target.app_url)
    from urllib.parse import unquote
    psql(admin_url,
         "-v", f"db={target.database}",
         "-v", f"owner={unquote(owner.username)}", "-v", f"owner_password={unquote(owner.password)}",
         "-v", f"app={unquote(app.username)}", "-v", f"app_password={unquote(app.password)}",
         "-f", str(SERVICE_DATABASE_SQL))
    return target
