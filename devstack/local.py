"""Where `make up` keeps its suite: data folder, ports, and the supervisor's pid file.

Shared by `python -m devstack` (up/down/migrate/clean), `devstack.seed` and `devstack.backup`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .stack import APPS, ROOT

DATA_DIR = Path(os.environ.get("FINOVA_DATA_DIR", ROOT / ".data"))
STATE_FILE = DATA_DIR / "run" / "stack.json"
MONGO_DB = os.environ.get("MONGO_DB", "preferences")


def app_ports() -> dict[str, int]:
    return {name: int(os.environ.get(f"{name.upper()}_PORT", default))
            for name, (_, _, default) in APPS.items()}


def store_ports() -> tuple[int, int]:
    return int(os.environ.get("FINOVA_PG_PORT", "55432")), int(os.environ.get("FINOVA_MONGO_PORT", "27027"))


def write_state() -> None:
    STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps({"pid": os.getpid()}))


def running_supervisor() -> int | None:
    """The pid of the `make up` that is running, if one is."""
    try:
        pid = json.loads(STATE_FILE.read_text())["pid"]
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, KeyError):
        return None
