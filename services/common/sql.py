"""SQLAlchemy glue for the PostgreSQL services: one engine per app, one session per request."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import Flask, g
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .health import add_readiness_check


def sqlalchemy_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, application_name: str, pool_size: int = 10,
                statement_timeout_ms: int = 5000) -> Engine:
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "application_name": application_name,
            "connect_timeout": 3,
            # A runaway query must not hold locks on ledger rows forever.
            "options": f"-c statement_timeout={statement_timeout_ms}",
        },
    )


def init_sql(app: Flask, url: str) -> Engine:
    engine = make_engine(url, app.config["SERVICE_NAME"], app.config.get("DB_POOL_SIZE", 10))
    factory = sessionmaker(engine, expire_on_commit=False)
    app.extensions["sql_engine"] = engine
    app.extensions["sql_sessions"] = factory

    @app.teardown_appcontext
    def _close_session(_exc) -> None:
        session = g.pop("sql_session", None)
        if session is not None:
            session.close()

    def check_database() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    add_readiness_check(app, "postgres", check_database)
    return engine


def init_read_replica(app: Flask, url: str | None) -> None:
    """Reads that may lag a little (statements) go to a replica when one is configured."""
    if not url:
        return
    engine = make_engine(url, f"{app.config['SERVICE_NAME']}-reads", app.config.get("DB_POOL_SIZE", 10))
    app.extensions["sql_read_sessions"] = sessionmaker(engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_read_session(_exc) -> None:
        session = g.pop("sql_read_session", None)
        if session is not None:
            session.close()

    def check_replica() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    add_readiness_check(app, "postgres_replica", check_replica)


def read_session() -> Session:
    """A session on the read replica if there is one, else the request's own session."""
    from flask import current_app
    factory = current_app.extensions.get("sql_read_sessions")
    if factory is None:
        return request_session()
    if "sql_read_session" not in g:
        g.sql_read_session = factory()
    return g.sql_read_session


def request_session() -> Session:
    """The session for this request, opened on first use and closed at teardown."""
    if "sql_session" not in g:
        from flask import current_app
        g.sql_session = current_app.extensions["sql_sessions"]()
    return g.sql_session


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
