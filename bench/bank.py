"""A bank's day in a minute: money moving at random while the ledger is knocked over.

    .venv/bin/python -m bench.bank [--clients 32] [--accounts 100] [--seconds 60]

100 accounts (owned by 20 verified customers, some with an overdraft) are funded, then 32
clients move money between them at random for 60 s straight to the transactions service,
whose outbox delivers each transfer's `transfer.posted` to the preferences service.
A client that gets no definite answer (connection refused or reset, a timeout, a 503)
retries the same request under the same Idempotency-Key until it does. Meanwhile the
transactions workers are killed with SIGKILL twice, the preferences workers once, and
PostgreSQL is crash-restarted once (`pg_ctl restart -m immediate`); gunicorn starts new
workers, the pools reconnect.

At the end it prints, and checks:
- the total money in the customer accounts is what was deposited;
- no balance is below minus its overdraft limit;
- every acknowledged transfer exists exactly once, and no entry exists that no client was
  told about;
- every replay (a second send of an answered request, and each retry after a lost answer
  that then found the first answer) matched the first answer;
- the ledger integrity check passes;
- once the outbox has drained, every posted entry sent one `transfer.posted` to
  preferences, none was dead-lettered, and preferences recorded every one as processed.
It exits 1 if any of these fails. Figures only; no timing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import requests
from sqlalchemy import create_engine, text

from devstack.postgres import _run_as, bin_dir
from services.common.service_auth import mint_internal_token
from services.common.sql import sqlalchemy_url

from .harness import BENCH_SECRET, bench_stack

CUSTOMERS = 20
DEPOSIT = "200.00"  # small enough that some transfers are refused, and their replays checked
DEFINITE = {201, 403, 404, 409, 422}


def auth(subject: str | None = None, caller: str = "gateway", roles: tuple[str, ...] = ()) -> dict:
    token = mint_internal_token(BENCH_SECRET, "transactions", caller, subject=subject, roles=roles)
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: dict[str, tuple[int, dict]] = field(default_factory=dict)   # key -> first definite answer
    statuses: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)                    # why a send was repeated
    replays: int = 0
    replay_mismatches: list[str] = field(default_factory=list)
    unanswered: int = 0

    def record(self, key: str, status: int, body: dict, replayed: bool) -> None:
        with self.lock:
            first = self.answers.get(key)
            if first is None:
                self.answers[key] = (status, body)
                self.statuses[status] += 1
                return
            self.replays += 1
            if first != (status, body) or not replayed:
                self.replay_mismatches.append(f"{key}: first {first[0]}, then {status} (replayed={replayed})")


def open_accounts(base: str, count: int) -> dict[str, tuple[str, int]]:
    """account id -> (owner, overdraft minor units); opened and KYC'd as the accounts service does."""
    as_accounts = auth(caller="accounts")
    accounts = {}
    for n in range(count):
        customer = f"bank-cust-{n % CUSTOMERS:02d}"
        account_id = f"bank-acc-{n:03d}-{uuid.uuid4().hex[:6]}"
        overdraft = "50.00" if n % 4 == 0 else "0.00"
        snapshot = {"account_id": account_id, "customer_id": customer, "number": f"ZZ00BENCH{n:05d}",
                    "type": "checking", "currency": "EUR", "status": "active",
                    "overdraft_limit": overdraft, "version": 1}
        requests.put(f"{base}/internal/ledger-accounts/{account_id}", json=snapshot,
                     headers=as_accounts, timeout=10).raise_for_status()
        accounts[account_id] = (customer, 5000 if overdraft == "50.00" else 0)
    for n in range(CUSTOMERS):
        requests.put(f"{base}/internal/ledger-customers/bank-cust-{n:02d}", headers=as_accounts, timeout=10,
                     json={"kyc_status": "verified", "version": 1}).raise_for_status()
    admin = auth(subject="ops", roles=("admin",))
    for account_id in accounts:
        response = requests.post(f"{base}/api/v1/admin/deposits", timeout=10,
                                 headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
                                 json={"account_id": account_id, "amount": DEPOSIT, "currency": "EUR"})
        response.raise_for_status()
    return accounts


def send_until_answered(session: requests.Session, base: str, owner: str, body: dict, key: str,
                        tally: Tally, give_up_at: float) -> tuple[int, dict] | None:
    """POST the transfer, again under the same key, until a definite answer (or give up)."""
    pause = 0.05
    while time.monotonic() < give_up_at:
        try:
            response = session.post(f"{base}/api/v1/transfers", json=body, timeout=10,
                                    headers={**auth(subject=owner), "Idempotency-Key": key})
        except requests.RequestException as error:
            tally.retries[type(error).__name__] += 1
        else:
            if response.status_code in DEFINITE:
                answer = (response.status_code, response.json())
                tally.record(key, *answer, replayed=response.headers.get("Idempotent-Replayed") == "true")
                return answer
            tally.retries[f"HTTP {response.status_code}"] += 1
        time.sleep(pause)
        pause = min(1.0, pause * 2)
    return None


def client(base: str, accounts: dict, seconds: float, seed: int, tally: Tally) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    ids = list(accounts)
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        source, target = rng.sample(ids, 2)
        body = {"from_account_id": source, "to_account_id": target,
                "amount": f"{rng.randint(1, 8000) / 100:.2f}", "currency": "EUR", "description": "bench"}
        key = uuid.uuid4().hex
        # Past the run's end a request still in doubt keeps trying for a while: its answer counts.
        answer = send_until_answered(session, base, accounts[source][0], body, key, tally, stop_at + 60)
        if answer is None:
            with tally.lock:
                tally.unanswered += 1
        elif rng.random() < 0.1:  # a client that resends an answered request gets the same answer
            send_until_answered(session, base, accounts[source][0], body, key, tally, stop_at + 60)


def workers_of(master_pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def chaos(apps, stores, seconds: float, log: list[str]) -> None:
    """SIGKILL the transactions workers at 1/4 and 3/4 of the run and the preferences workers
    at 0.6 (in the middle of applying a batch of events); crash PostgreSQL at 1/2."""
    began = time.monotonic()
    for at, action in ((0.25, "transactions"), (0.5, "pg"), (0.6, "preferences"), (0.75, "transactions")):
        time.sleep(max(0.0, began + seconds * at - time.monotonic()))
        if action != "pg":
            pids = workers_of(apps.processes[action].pid)
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            log.append(f"{time.monotonic() - began:5.1f}s SIGKILL {action} workers {pids}")
        else:
            pg = stores.embedded_pg
            start = time.monotonic()
            subprocess.run([str(bin_dir() / "pg_ctl"), "restart", "-m", "immediate", "-w", "-t", "60",
                            "-D", str(pg.data_dir), "-l", str(pg.log_path), "-o", f"-p {pg.port}"],
                           user=_run_as(), check=True, capture_output=True)
            log.append(f"{time.monotonic() - began:5.1f}s PostgreSQL crash-restarted "
                       f"(back in {time.monotonic() - start:.1f}s)")


def verify(owner_url: str, base: str, accounts: dict, tally: Tally) -> list[str]:
    failures = []
    engine = create_engine(sqlalchemy_url(owner_url))
    ids = list(accounts)
    acknowledged = [body["id"] for status, body in tally.answers.values() if status == 201]
    with engine.connect() as connection:
        total = connection.execute(text("SELECT sum(balance) FROM ledger_accounts WHERE id = ANY(:ids)"),
                                   {"ids": ids}).scalar_one()
        expected = len(ids) * int(Decimal(DEPOSIT) * 100)
        print(f"  total money: {Decimal(total) / 100} (deposited {Decimal(expected) / 100})")
        if total != expected:
            failures.append(f"total money changed by {Decimal(total - expected) / 100}")
        below = connection.execute(text(
            "SELECT count(*) FROM ledger_accounts WHERE NOT may_go_negative "
            "AND balance - held < -overdraft_limit")).scalar_one()
        print(f"  balances below their limit: {below}")
        if below:
            failures.append(f"{below} balance(s) below their limit")
        found = connection.execute(text(
            "SELECT count(*) FROM journal_entries WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": acknowledged}).scalar_one()
        transfers = connection.execute(text(
            "SELECT count(*) FROM journal_entries WHERE kind = 'transfer' "
            "AND from_account_id = ANY(:ids)"), {"ids": ids}).scalar_one()
        print(f"  acknowledged transfers: {len(acknowledged)} ({len(set(acknowledged))} distinct), "
              f"found in the ledger: {found}, transfer entries in all: {transfers}")
        if not (len(set(acknowledged)) == len(acknowledged) == found == transfers):
            failures.append("acknowledged transfers and ledger entries differ")
    engine.dispose()
    print(f"  replays: {tally.replays}, mismatched: {len(tally.replay_mismatches)}")
    failures.extend(tally.replay_mismatches[:5])
    if tally.unanswered:
        failures.append(f"{tally.unanswered} request(s) never got a definite answer")
    check = requests.get(f"{base}/api/v1/admin/ledger-check?run=now", timeout=120,
                         headers=auth(subject="ops", roles=("admin",))).json()
    print(f"  ledger check: {'ok' if check.get('ok') else json.dumps(check)[:300]}")
    if not check.get("ok"):
        failures.append("ledger check failed")
    return failures


def verify_events(owner_url: str, mongo_url: str, mongo_db: str, timeout: float = 120) -> list[str]:
    """Every posted transfer's transfer.posted reached preferences and was recorded there once."""
    from pymongo import MongoClient
    engine = create_engine(sqlalchemy_url(owner_url))
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        def pending() -> int:
            return connection.execute(text(
                "SELECT count(*) FROM outbox_events WHERE destination = 'preferences' "
                "AND delivered_at IS NULL AND dead_lettered_at IS NULL")).scalar_one()
        while pending() and time.monotonic() < deadline:
            connection.rollback()
            time.sleep(1)
        left = pending()
        sent = [str(row[0]) for row in connection.execute(text(
            "SELECT event_id FROM outbox_events WHERE destination = 'preferences' "
            "AND event_type = 'transfer.posted'"))]
        dead = connection.execute(text(
            "SELECT count(*) FROM outbox_events WHERE dead_lettered_at IS NOT NULL")).scalar_one()
        entries = connection.execute(text("SELECT count(*) FROM journal_entries")).scalar_one()  # with the deposits
    engine.dispose()
    with MongoClient(mongo_url, uuidRepresentation="standard") as client:
        processed = {d["event_id"] for d in client[mongo_db].processed_events.find(
            {"event_id": {"$in": sent}}, {"event_id": 1, "_id": 0})}
    print(f"  events: {len(sent)} transfer.posted for {entries} entries (deposits included), {left} undelivered after "
          f"draining, {dead} dead-lettered, {len(processed)} recorded as processed by preferences")
    failures = []
    if left or dead:
        failures.append(f"{left} event(s) undelivered, {dead} dead-lettered")
    if not (len(set(sent)) == len(sent) == entries == len(processed)):
        failures.append("transfer.posted events sent and processed differ from the entries posted")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with bench_stack(("transactions", "preferences"), workers=2, threads=8) as (stores, databases, apps):
        if stores.embedded_pg is None:
            print("bench.bank crash-restarts the embedded PostgreSQL: unset DATABASE_URL")
            return 2
        base = apps.url("transactions")
        accounts = open_accounts(base, args.accounts)
        tally, events = Tally(), []
        threads = [threading.Thread(target=client, args=(base, accounts, args.seconds, n, tally))
                   for n in range(args.clients)]
        threads.append(threading.Thread(target=chaos, args=(apps, stores, args.seconds, events)))
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        print(f"bench.bank: {args.clients} clients, {args.accounts} accounts, {args.seconds:.0f}s "
              f"(all answered after {elapsed:.1f}s)")
        for line in events:
            print(f"  {line}")
        answered = sum(tally.statuses.values())
        print(f"  requests answered: {answered} ({answered / args.seconds:.0f}/s), by status: "
              f"{dict(sorted(tally.statuses.items()))}")
        codes = Counter(body.get("code") for status, body in tally.answers.values() if status != 201)
        print(f"  refusals by code: {dict(codes)}")
        print(f"  sends repeated (no definite answer yet): {dict(tally.retries)}")
        failures = verify(databases["transactions"].owner_url, base, accounts, tally)
        failures += verify_events(databases["transactions"].owner_url, stores.mongo_url, "preferences")
        print("bench.bank: every guarantee held" if not failures else "bench.bank: FAILED: " + "; ".join(failures))
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
