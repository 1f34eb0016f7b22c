"""`relay-outbox`: deliver a service's due outbox rows once and exit, for a CronJob.

Each service's pods run a relay thread; this command is the safety net for rows left
behind while every pod of the service was down. It needs only the service's database,
the internal-token secret and the subscribers' URLs, not the whole app's settings (the
relay's OUTBOX_* knobs are read from the environment like the app's).
"""
from __future__ import annotations

import os
import sys
from typing import Mapping

from sqlalchemy import Table, func, select

from .config import ConfigError
from .outbox_wiring import build_relay, relay_settings
from .sql import make_engine


def relay_outbox(service: str, table: Table, routes: Mapping[str, tuple[str, ...]],
                 default_urls: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> int:
    """0 when nothing is left to send, 1 when rows still wait (failing, backing off), 2 on bad config."""
    missing = [name for name in ("DATABASE_URL", "INTERNAL_TOKEN_SECRET") if not environ.get(name)]
    if missing:
        print(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set", file=sys.stderr)
        return 2
    try:
        settings = relay_settings(environ=environ)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    urls = {target: environ.get(f"{target.upper()}_URL", url) for target, url in default_urls.items()}
    engine = make_engine(environ["DATABASE_URL"], f"{service}-outbox-relay", pool_size=1)
    relay = build_relay(engine, table, service, routes, urls, environ["INTERNAL_TOKEN_SECRET"], settings)
    delivered = dead = 0
    while True:
        result = relay.run_pass()
        delivered += result.delivered
        dead += result.dead_lettered
        if result.delivered == 0:  # nothing sent, or everything failed and backs off now
            break
    with engine.connect() as connection:
        waiting = connection.execute(
            select(func.count()).select_from(table)
            .where(table.c.delivered_at.is_(None), table.c.dead_lettered_at.is_(None))).scalar_one()
    engine.dispose()
    print(f"{service} outbox: {delivered} delivered, {waiting} waiting"
          + (f", {dead} dead-lettered now" if dead else ""), file=sys.stderr)
    return 0 if waiting == 0 else 1
