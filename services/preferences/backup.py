"""A logical dump of the preferences database, and its restore: every collection's documents
as BSON (types kept: dates, ids), gzip'd, one file per run named by its UTC time, plus each
collection's indexes; the oldest dumps beyond BACKUP_KEEP are removed. Run nightly by the
`preferences-backup` CronJob onto its volume (docs/operations.md, "Back up and restore").

    python -m services.preferences.backup                       # dump to $BACKUP_DIR
    python -m services.preferences.backup restore FILE [--db preferences_restored]

pymongo's own BSON codec rather than mongodump: the preferences image carries no MongoDB tools,
and a dump of this size (settings and an inbox) is a read of each collection.
"""
from __future__ import annotations

import argparse
import gzip
import os
import struct
import sys
from datetime import datetime, timezone
from pathlib import Path

import bson
from pymongo import MongoClient
from pymongo.database import Database

MAGIC = b"FINOVA-PREFS-DUMP-1\n"


def dump(db: Database, directory: Path, now: datetime | None = None) -> tuple[Path, dict[str, int]]:
    now = now or datetime.now(timezone.utc)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"preferences-{now:%Y%m%dT%H%M%SZ}.bson.gz"
    partial = target.with_suffix(".partial")
    counts: dict[str, int] = {}
    with gzip.open(partial, "wb") as out:
        out.write(MAGIC)
        for name in sorted(db.list_collection_names()):
            indexes = [{"key": list(spec["key"].items()), "name": spec["name"],
                        **({"unique": True} if spec.get("unique") else {})}
                       for spec in db[name].list_indexes() if spec["name"] != "_id_"]
            _record(out, {"collection": name, "indexes": indexes})
            counts[name] = 0
            for document in db[name].find().sort("_id", 1):
                _record(out, {"document": document})
                counts[name] += 1
    partial.rename(target)   # a dump cut short never looks like a whole one
    return target, counts


def _record(out, value: dict) -> None:
    encoded = bson.encode(value)
    out.write(struct.pack("<I", len(encoded)) + encoded)


def restore(path: Path, db: Database) -> dict[str, int]:
    """Into an empty database (a restore never merges into live data)."""
    if db.list_collection_names():
        raise ValueError(f"database {db.name} is not empty: restore into a new one")
    counts: dict[str, int] = {}
    with gzip.open(path, "rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path} is not a preferences dump")
        collection = None
        while header := source.read(4):
            value = bson.decode(source.read(struct.unpack("<I", header)[0]))
            if "collection" in value:
                collection = db[value["collection"]]
                counts[collection.name] = 0
                db.create_collection(collection.name)
                for index in value["indexes"]:
                    collection.create_index([tuple(part) for part in index["key"]], name=index["name"],
                                            unique=index.get("unique", False))
            else:
                collection.insert_one(value["document"])
                counts[collection.name] += 1
    return counts


def prune(directory: Path, keep: int) -> list[Path]:
    dumps = sorted(directory.glob("preferences-*.bson.gz"))
    removed = dumps[:-keep] if keep > 0 else []
    for path in removed:
        path.unlink()
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.preferences.backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("dump", "restore"), default="dump")
    parser.add_argument("file", nargs="?", help="restore: the dump to read")
    parser.add_argument("--db", default=None, help="restore: the (empty) database to restore into")
    args = parser.parse_args(argv)
    url = os.environ.get("MONGO_URL")
    if not url:
        parser.error("MONGO_URL is not set")
    with MongoClient(url, serverSelectionTimeoutMS=10_000, tz_aware=True) as client:
        if args.command == "restore":
            if not args.file or not args.db:
                parser.error("restore needs FILE and --db")
            counts = restore(Path(args.file), client[args.db])
            print(f"restored into {args.db}: {counts}")
            return 0
        directory = Path(os.environ.get("BACKUP_DIR", "/backup"))
        target, counts = dump(client[os.environ.get("MONGO_DB", "preferences")], directory)
        removed = prune(directory, int(os.environ.get("BACKUP_KEEP", "14")))
        print(f"dumped {sum(counts.values())} documents {counts} to {target}; {len(removed)} old dump(s) removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
