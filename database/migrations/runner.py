"""Run a service's Alembic migrations from Python (make migrate, tests, the migration job).

    python -m database.migrations.runner accounts upgrade head
uses DATABASE_URL (the service's owner role). The plain Alembic CLI works too:
    DATABASE_URL=... alembic -c database/migrations/alembic.ini -n accounts upgrade head
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent
SERVICES = ("accounts", "transactions")


def alembic_config(service: str, url: str) -> Config:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {SERVICES}")
    config = Config(str(HERE / "alembic.ini"), ini_section=service)
    config.set_main_option("script_location", str(HERE / service))
    config.attributes["url"] = url
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def downgrade(service: str, url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, url), revision)


def current(service: str, url: str) -> None:
    command.current(alembic_config(service, url), verbose=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("action", choices=("upgrade", "downgrade", "current"))
    parser.add_argument("revision", nargs="?")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: point it at the service's database as its owner role")
    if args.action == "upgrade":
        upgrade(args.service, url, args.revision or "head")
    elif args.action == "downgrade":
        downgrade(args.service, url, args.revision or "base")
    else:
        current(args.service, url)


if __name__ == "__main__":
    main()
