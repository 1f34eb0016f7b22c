"""Operator commands for the ledger.

    DATABASE_URL=... python -m services.transactions.cli ledger-check
exits 0 when the ledger is whole and 1 (listing every violation) when it is not.
"""
from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.orm import Session

from services.common.sql import make_engine

from .ledger.integrity import check_ledger


def ledger_check(url: str) -> int:
    engine = make_engine(url, "transactions-cli", pool_size=1, statement_timeout_ms=0)
    with Session(engine) as session:
        violations = check_ledger(session, limit_per_check=1000)
    engine.dispose()
    for v in violations:
        print(f"{v.check}\t{v.subject}\t{v.detail}")
    print("ledger ok" if not violations else f"{len(violations)} violation(s)", file=sys.stderr)
    return 1 if violations else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.transactions.cli")
    parser.add_argument("command", choices=("ledger-check",))
    parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    return ledger_check(url)


if __name__ == "__main__":
    sys.exit(main())
