"""Apply the versioned MongoDB migrations in database/mongodb/migrations/.

Applied versions are recorded in the `schema_migrations` collection (unique on
`version`), so running this again only applies what is new.

CLI: python -m database.mongodb.migrate --url MONGO_URL --db preferences
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
from datetime import datetime, timezone
from types import ModuleType

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from . import migrations as _migrations_pkg
from .migrations.helpers import Log, migration_log

MIGRATIONS_COLLECTION = "schema_migrations"
_MODULE_NAME = re.compile(r"^m(\d{4})_\w+$")


def load_migrations() -> list[ModuleType]:
    """All migration modules, sorted by VERSION; fails loudly on a malformed one."""
    found: dict[int, ModuleType] = {}
    for info in pkgutil.iter_modules(_migrations_pkg.__path__):
        match = _MODULE_NAME.match(info.name)
        if not match:
            continue
        mod = importlib.import_module(f"{_migrations_pkg.__name__}.{info.name}")
        version = getattr(mod, "VERSION", None)
        if version != int(match.group(1)) or not callable(getattr(mod, "up", None)) \
                or not isinstance(getattr(mod, "DESCRIPTION", None), str):
            raise RuntimeError(f"migration {info.name}: needs VERSION = {int(match.group(1))}, "
                               f"DESCRIPTION (str) and up(db)")
        if version in found:
            raise RuntimeError(f"migration version {version} defined twice")
        found[version] = mod
    return [found[v] for v in sorted(found)]


def apply_migrations(db: Database, log: Log = print) -> list[int]:
    """Apply pending migrations in version order; return the versions applied now."""
    record = db[MIGRATIONS_COLLECTION]
    record.create_index("version", unique=True, name="version_unique")
    done = {doc["version"] for doc in record.find({}, {"version": 1})}
    applied: list[int] = []
    for mod in load_migrations():
        if mod.VERSION in done:
            continue
        log(f"migration {mod.VERSION:04d}: {mod.DESCRIPTION}")
        token = migration_log.set(log)  # so helpers used inside up(db) log through `log`
        try:
            mod.up(db)
        finally:
            migration_log.reset(token)
        try:
            record.insert_one({"_id": mod.VERSION, "version": mod.VERSION,
                               "description": mod.DESCRIPTION,
                               "applied_at": datetime.now(timezone.utc)})
        except DuplicateKeyError:
            # A concurrent run recorded it first; up() is idempotent, so nothing is lost.
            log(f"migration {mod.VERSION:04d}: already recorded by another run")
            continue
        applied.append(mod.VERSION)
    return applied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m database.mongodb.migrate",
                                     description="Apply pending MongoDB migrations.")
    parser.add_argument("--url", default=os.environ.get("MONGO_URL"),
                        help="MongoDB connection string (default: $MONGO_URL)")
    parser.add_argument("--db", required=True, help="database name, e.g. preferences")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url is required when MONGO_URL is not set")

    from pymongo import MongoClient

    client = MongoClient(args.url, serverSelectionTimeoutMS=10_000)
    try:
        applied = apply_migrations(client[args.db])
    finally:
        client.close()
    print(f"applied {applied}" if applied else "nothing to apply: schema is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
