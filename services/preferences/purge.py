"""Remove what the TTL indexes would expire (read notifications after 90 days, processed
event ids after 30), for servers that never apply TTL such as mongo-java-server. Documents
go in batches (PURGE_BATCH_SIZE, default 5000), so one run never sends an unbounded delete.

    python -m services.preferences.purge [--url MONGO_URL] [--db preferences] [--batch-size N]
    flask --app "services.preferences.app:create_app()" purge-expired
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

import click
from flask import Flask
from pymongo import MongoClient
from pymongo.database import Database

from .domain.inbox import EVENT_RETENTION, READ_RETENTION, utc_now

BATCH_SIZE = 5000


def purge_in_batches(db: Database, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """The same documents as domain.inbox.purge_expired, deleted `batch_size` at a time."""
    now = now or utc_now()
    expired = {"notifications": {"read_at": {"$lt": now - READ_RETENTION}},
               "processed_events": {"received_at": {"$lt": now - EVENT_RETENTION}}}
    removed = {}
    for name, query in expired.items():
        count = 0
        while True:
            ids = [doc["_id"] for doc in db[name].find(query, {"_id": 1}).limit(batch_size)]
            if ids:
                count += db[name].delete_many({"_id": {"$in": ids}}).deleted_count
            if len(ids) < batch_size:
                break
        removed[name] = count
    return removed


def _report(removed: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in removed.items()) + " removed"


def _batch_size(raw: str | None) -> int:
    value = int(raw or BATCH_SIZE)
    if value <= 0:
        raise ValueError("the batch size must be positive")
    return value


def init_cli(app: Flask) -> None:
    @app.cli.command("purge-expired")
    def purge_expired_command() -> None:
        """Delete read notifications older than 90 days and old processed event ids."""
        batch = _batch_size(os.environ.get("PURGE_BATCH_SIZE"))
        click.echo(_report(purge_in_batches(app.extensions["mongo_db"], batch_size=batch)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.preferences.purge",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("MONGO_URL"),
                        help="MongoDB connection string (default: $MONGO_URL)")
    parser.add_argument("--db", default=os.environ.get("MONGO_DB", "preferences"))
    parser.add_argument("--batch-size", type=_batch_size, default=os.environ.get("PURGE_BATCH_SIZE") or str(BATCH_SIZE),
                        help=f"documents per delete (default: $PURGE_BATCH_SIZE or {BATCH_SIZE})")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url is required when MONGO_URL is not set")
    with MongoClient(args.url, serverSelectionTimeoutMS=10_000, tz_aware=True) as client:
        print(_report(purge_in_batches(client[args.db], batch_size=args.batch_size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
