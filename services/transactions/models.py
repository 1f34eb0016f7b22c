"""The transactions service's tables (its own PostgreSQL database)."""
from sqlalchemy.orm import DeclarativeBase

from services.common.outbox import outbox_table, processed_events_table


class Base(DeclarativeBase):
    pass


outbox_events = outbox_table(Base.metadata)
processed_events = processed_events_table(Base.metadata)
