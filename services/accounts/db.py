"""Row-level security scoping: every transaction of a session says whom it acts for.

The policies (database/postgres/accounts.sql) show a customer's session only that
customer's rows, whatever the query; trusted paths (registration, login, admin, CLI) act
as the system. The setting is SET LOCAL, so it is re-applied at each transaction start and
never outlives the transaction on a pooled connection.
"""
from __future__ import annotations

import uuid

from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

_SCOPE = "rls_scope"
_APPLY = text("SELECT set_config('app.customer_id', :customer, true), "
              "set_config('app.access', :access, true)")


def install_rls_scoping(factory: sessionmaker) -> None:
    @event.listens_for(factory, "after_begin")
    def _apply_scope(session: Session, _transaction, connection) -> None:
        customer, access = session.info.get(_SCOPE, ("", ""))
        connection.execute(_APPLY, {"customer": customer, "access": access})


def _scope(session: Session, customer: str, access: str) -> Session:
    session.info[_SCOPE] = (customer, access)
    if session.in_transaction():
        session.execute(_APPLY, {"customer": customer, "access": access})
    return session


def act_as_customer(session: Session, customer_id: uuid.UUID | str) -> Session:
    """Only this customer's rows are visible and writable in this session."""
    return _scope(session, str(uuid.UUID(str(customer_id))), "")


def act_as_system(session: Session) -> Session:
    """Trusted code paths that must see every row (login by email, admin actions)."""
    return _scope(session, "", "system")
