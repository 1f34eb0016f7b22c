"""python -m devstack.seed [--customers 25000] [--transactions 1000000]: demo data at the bank's scale.

What `make seed` runs. Each service's own seed writes to its own database as that
database's owner role, accounts first (services/accounts/seed.py: customers and bank
accounts, plus a manifest of the accounts opened), then the ledger (services/transactions/
seed.py: ledger accounts from that manifest and the history, checked by the ledger
integrity check before it commits). Each seed is one transaction: a failure leaves that
database as it was.

By default it seeds the suite that `make up` is running (the same databases and roles
devstack sets up); --accounts-url and --transactions-url (owner roles) seed any others.
Seed an empty suite: the seeds refuse to run twice, and `make up` loads a small demo set on
its first start, so for the bank's scale start with `make clean` and
`FINOVA_DEMO_CUSTOMERS=0 make up`, then `make seed` (or give `make up` the scale directly:
FINOVA_DEMO_CUSTOMERS=25000 FINOVA_DEMO_TRANSACTIONS=1000000).
While the ledger loads, its tables are locked, so transfers wait (or time out) until it commits.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.accounts.domain.errors import WeakPassword
from services.accounts.numbers import DEFAULT_SORT_CODE
from services.accounts.pii import FieldCipher, parse_keys
from services.accounts.seed import DEMO_PASSWORD, AlreadySeeded, seed_customers_and_accounts
from services.common.sql import sqlalchemy_url
from services.transactions.seed import LedgerCheckFailed, SeedRefused, read_manifest, seed_ledger

from .local import DATA_DIR, running_supervisor, store_ports
from .databases import service_database
from .postgres import EmbeddedPostgres
from .stack import DEV_PII_ENCRYPTION_KEYS


def _say(message: str) -> None:
    print(f"[seed] {message}", flush=True)


def _stack_owner_urls() -> tuple[str, str]:
    """The owner roles of the running suite's accounts and transactions databases."""
    if running_supervisor() is None:
        raise SystemExit("[seed] the suite is not running: start it with `make up` (in another shell), "
                         "or pass --accounts-url and --transactions-url")
    admin_url = os.environ.get("DATABASE_URL") or EmbeddedPostgres(DATA_DIR / "postgres", store_ports()[0]).admin_url
    return (service_database(admin_url, "accounts").owner_url,
            service_database(admin_url, "transactions").owner_url)


def seed(accounts_url: str, transactions_url: str, customers: int, transactions: int, manifest: Path,
         password: str = DEMO_PASSWORD, random_seed: int = 8) -> int:
    cipher = FieldCipher(parse_keys(os.environ.get("PII_ENCRYPTION_KEYS", DEV_PII_ENCRYPTION_KEYS)))
    began = time.perf_counter()
    engine = create_engine(sqlalchemy_url(accounts_url), connect_args={"application_name": "seed"})
    with Session(engine) as session:
        people = seed_customers_and_accounts(session, cipher, customers, manifest, password=password,
                                             sort_code=os.environ.get("IBAN_SORT_CODE", DEFAULT_SORT_CODE),
                                             random_seed=random_seed)
        session.commit()
    engine.dispose()
    accounts_done = time.perf_counter()
    _say(f"accounts: {people.customers} customers, {people.accounts} bank accounts "
         f"in {accounts_done - began:.1f}s (manifest {manifest})")

    engine = create_engine(sqlalchemy_url(transactions_url), connect_args={"application_name": "seed"})
    with Session(engine) as session:
        ledger = seed_ledger(session, read_manifest(manifest), transactions, random_seed=random_seed)
        session.commit()
    engine.dispose()
    done = time.perf_counter()
    steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in ledger.timings.items()
                      if name != "integrity_check")
    _say(f"ledger: {ledger.accounts} ledger accounts, {ledger.entries} journal entries "
         f"({ledger.deposits} deposits, {ledger.transfers} transfers) in {done - accounts_done:.1f}s ({steps})")
    _say(f"ledger integrity check: passed in {ledger.timings['integrity_check']:.1f}s (before commit)")
    _say(f"total {done - began:.1f}s")
    _say(f"demo login: {people.demo_email} / {people.demo_password} "
         f"(every customerNNNNN@ address up to {customers:05d} has this password)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.seed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--transactions", type=int, default=1_000_000, help="journal entries to write")
    parser.add_argument("--accounts-url", help="the accounts database, as its owner role")
    parser.add_argument("--transactions-url", help="the transactions database, as its owner role")
    parser.add_argument("--manifest", type=Path, default=DATA_DIR / "seed" / "accounts-manifest.csv")
    parser.add_argument("--password", default=os.environ.get("FINOVA_DEMO_PASSWORD", DEMO_PASSWORD),
                        help="every demo customer's password")
    parser.add_argument("--random-seed", type=int, default=8, help="same seed, same data")
    args = parser.parse_args(argv)
    if args.customers < 1 or args.transactions < 0:
        parser.error("--customers must be at least 1 and --transactions not negative")
    if bool(args.accounts_url) != bool(args.transactions_url):
        parser.error("give both --accounts-url and --transactions-url, or neither")
    urls = (args.accounts_url, args.transactions_url) if args.accounts_url else _stack_owner_urls()
    try:
        return seed(*urls, args.customers, args.transactions, args.manifest, args.password, args.random_seed)
    except (AlreadySeeded, SeedRefused) as exc:
        _say(f"refused: {exc} (`make clean` and `make up` give an empty suite)")
    except WeakPassword as exc:
        _say(f"refused: the demo password is too weak ({exc.detail})")
    except LedgerCheckFailed as exc:
        _say(f"failed, nothing of the ledger was committed: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
