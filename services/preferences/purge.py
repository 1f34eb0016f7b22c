"""Remove what the TTL indexes would expire (read notifications after 90 days, processed
event ids after 30), for servers that never apply TTL such as mongo-java-server.

    python -m services.preferences.purge [--url MONGO_URL] [--db preferences]
    flask --app "services.preferences.app:create_app()" purge-expired
"""
from __future__ import annotations

import argparse
import os
import sys

import click
from flask import Flask
from pymongo import MongoClient

from .domain.inbox import purge_expired


def _report(removed: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in removed.items()) + " removed"


def init_cli(app: Flask) -> None:
    @app.cli.command("purge-expired")
    def purge_expired_command() -> None:
        """Delete read notifications older than 90 days and old processed event ids."""
        click.echo(_report(purge_expired(app.extensions["mongo_db"])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.preferences.purge",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("MONGO_URL"),
                        help="MongoDB connection string (default: $MONGO_URL)")
    parser.add_argument("--db", default=os.environ.get("MONGO_DB", "preferences"))
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url is required when MONGO_URL is not set")
    with MongoClient(args.url, serverSelectionTimeoutMS=10_000, tz_aware=True) as client:
        print(_report(purge_expired(client[args.db])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
