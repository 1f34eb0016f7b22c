"""What every service's Alembic env.py does: run migrations online against one database.

The URL comes from the Alembic config (set by database/migrations/runner.py) or from
DATABASE_URL, and must be the service's owner role: the app role cannot alter tables.
"""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import MetaData, create_engine, pool

from services.common.sql import sqlalchemy_url


def run(target_metadata: MetaData) -> None:
    config = context.config
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: point it at the service's database as its owner role")
    if context.is_offline_mode():
        context.configure(url=sqlalchemy_url(url), target_metadata=target_metadata,
                          literal_binds=True, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        # Fail fast instead of queueing behind a long transaction holding a table lock.
        context.configure(connection=connection, target_metadata=target_metadata,
                          transaction_per_migration=True)
        connection.exec_driver_sql("SET lock_timeout = '10s'")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
