"""`relay-outbox`: deliver a service's due outbox rows once and exit, for a CronJob.

Each service's pods run a relay thread; this command is the safety net for rows left
behind while every pod of the service was down. It needs only the service's database,
the internal-token secret and the subscribers' URLs, not the whole app's settings.
"""
from __future__ import annotations

import os
import sys
from typing import Mapping

from sqlalchemy import Table, func, select

from .http_client import ServiceClient
from .outbox import Outbox, OutboxRelay
from .sql import make_engine


def relay_outbox(service: str, table: Table, routes: Mapping[str, tuple[str, ...]],
                 default_urls: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> int:
    """0 when nothing is left to send, 1 when rows still wait (failing, backing off), 2 on bad config."""
    missing = [name for name in ("DATABASE_URL", "INTERNAL_TOKEN_SECRET") if not environ.get(name)]
    if missing:
        print(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set", file=sys.stderr)
        return 2
    clients = {
        target: ServiceClient(environ.get(f"{target.upper()}_URL", url), audience=target, caller=service,
                              secret=environ["INTERNAL_TOKEN_SECRET"], retries=0, read_timeout=5.0)
        for target, url in default_urls.items()
    }
    engine = make_engine(environ["DATABASE_URL"], f"{service}-outbox-relay", pool_size=1)
    relay = OutboxRelay(engine, Outbox(table=table, source=service, routes=routes, clients=clients))
    delivered = 0
    while True:
        sent = relay.deliver_due()
        delivered += sent
        if sent == 0:
            break
    with engine.connect() as connection:
        waiting = connection.execute(
            select(func.count()).select_from(table).where(table.c.delivered_at.is_(None))).scalar_one()
    engine.dispose()
    print(f"{service} outbox: {delivered} delivered, {waiting} waiting", file=sys.stderr)
    return 0 if waiting == 0 else 1
