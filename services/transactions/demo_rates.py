"""A small, realistic set of FX rates for the demo currencies (EUR base, late 2026 levels),
loaded into the transactions database on `make up`'s first start (devstack) when it holds no
rates yet: `python -m services.transactions.demo_rates <owner database url>` does the same."""
from __future__ import annotations

import sys
from datetime import datetime, timezone

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.common.sql import sqlalchemy_url

from .domain.books.fx import load_rates

# Units of the quote currency per 1 EUR.
DEMO_RATES = [
    ("EUR", "USD", "1.0842"),
    ("EUR", "GBP", "0.8571"),
    ("EUR", "CHF", "0.9412"),
    ("EUR", "JPY", "162.35"),
    ("EUR", "SEK", "11.4210"),
    ("EUR", "PLN", "4.3125"),
    ("EUR", "BHD", "0.408700"),
    ("EUR", "NOK", "11.6850"),
    ("EUR", "DKK", "7.4590"),
    ("EUR", "CZK", "25.1900"),
]
# In force from the start of the year, so back-dated demo history converts too.
EFFECTIVE_FROM = datetime(2026, 1, 1, tzinfo=timezone.utc)
CREATED_BY = "system:demo-rates"


def load_demo_rates(database_url: str) -> int:
    """Load the demo rates unless the database has rates already; how many were added."""
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with Session(engine) as session:
            added = load_rates(session, DEMO_RATES, EFFECTIVE_FROM, CREATED_BY)
            session.commit()
            return added
    finally:
        engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m services.transactions.demo_rates <database url>")
    print(f"{load_demo_rates(sys.argv[1])} FX rates added")
