"""Helpers for migration modules (not a migration itself: no mNNNN_ prefix)."""
from __future__ import annotations

from contextlib import suppress
from contextvars import ContextVar
from typing import Any, Callable

from pymongo.database import Database
from pymongo.errors import CollectionInvalid, OperationFailure

Log = Callable[[str], Any]
# apply_migrations() sets this around up(db), so helpers log where the caller asked.
migration_log: ContextVar[Log] = ContextVar("migration_log", default=print)


def _errmsg(exc: OperationFailure) -> str:
    return (exc.details or {}).get("errmsg") or str(exc)


def ensure_collection(db: Database, name: str, validator: dict | None = None) -> None:
    """Create `name` (with a validator if given) or set the validator on an existing one.

    A server that refuses validators gets a log line and the collection without
    one: validation is a safety net here, not something the services rely on.
    """
    log = migration_log.get()
    if name not in db.list_collection_names():
        try:
            if validator is None:
                db.create_collection(name)
                return
            db.create_collection(name, validator=validator, validationLevel="strict")
        except CollectionInvalid:
            pass  # created concurrently: fall through to collMod
        except OperationFailure as exc:
            log(f"{name}: server refused the validator ({_errmsg(exc)}); created without one")
            with suppress(CollectionInvalid):
                db.create_collection(name)
            return
        else:
            if "validator" not in db[name].options():
                # mongo-java-server accepts the option and drops it.
                log(f"{name}: server accepted but did not keep the validator (not enforced)")
            return
    if validator is not None:
        try:
            db.command("collMod", name, validator=validator, validationLevel="strict")
        except OperationFailure as exc:
            log(f"{name}: server refused the validator via collMod ({_errmsg(exc)}); "
                f"going on without it")
