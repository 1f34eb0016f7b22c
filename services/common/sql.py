"""SQLAlchemy glue for the PostgreSQL services: one engine per app, one session per request."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .health import add_readiness_check
from .metrics import watch_pool


def sqlalchemy_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, application_name: str, pool_size: int = 10,
                statement_timeout_ms: int = 5000, lock_timeout_ms: int = 2000) -> Engine:
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "application_name": application_name,
            "connect_timeout": 3,
            # A runaway query must not hold locks on ledger rows forever, and a request
            # waiting on a hot row gives up (55P03, retried or a 503) instead of piling up.
            "options": f"-c statement_timeout={statement_timeout_ms} -c lock_timeout={lock_timeout_ms}",
        },
    )


def init_sql(app: Flask, url: str) -> Engine:
    engine = make_engine(url, app.config["SERVICE_NAME"], app.config.get("DB_POOL_SIZE", 10))
    watch_pool(app, engine, "primary")
    app.extensions["sql_engine"] = engine
    app.extensions["sql_sessions"] = _sessions_per_request(app, engine, "sql_session", "postgres")
    return engine


def init_read_replica(app: Flask, url: str | None) -> None:
    """Reads that may lag a little (statements) go to a replica when one is configured."""
    if not url:
        return
    engine = make_engine(url, f"{app.config['SERVICE_NAME']}-reads", app.config.get("DB_POOL_SIZE", 10))
    watch_pool(app, engine, "replica")
    app.extensions["sql_read_sessions"] = _sessions_per_request(app, engine, "sql_read_session",
                                                                "postgres_replica")


def _sessions_per_request(app: Flask, engine: Engine, slot: str, check_name: str) -> sessionmaker:
    """A session factory whose request session (kept in g.<slot>) closes at teardown, and a
    readiness check on the engine."""
    @app.teardown_appcontext
    def _close_session(_exc) -> None:
        session = g.pop(slot, None)
        if session is not None:
            session.close()

    def check_database() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    add_readiness_check(app, check_name, check_database)
    return sessionmaker(engine, expire_on_commit=False)


def read_session() -> Session:
    """A session on the read replica if there is one, else the request's own session."""
    if "sql_read_sessions" not in current_app.extensions:
        return request_session()
    return _in_request("sql_read_sessions", "sql_read_session")


def request_session() -> Session:
    """The session for this request, opened on first use and closed at teardown."""
    return _in_request("sql_sessions", "sql_session")


def _in_request(factory_name: str, slot: str) -> Session:
    if slot not in g:
        setattr(g, slot, current_app.extensions[factory_name]())
    return getattr(g, slot)


@contextmanager
def session_scope(factory: sessionmaker) -> Iterator[Session]:
    """A unit of work outside a request: commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
