"""Demo history for the ledger: ledger accounts for the seeded bank accounts, then N entries.

`make seed` (devstack/seed.py) runs the accounts seed first, then `seed_ledger` against this
service's database as its owner role, in one transaction.

Where the accounts come from: bank accounts normally reach the ledger as account.opened
events over the outbox. The accounts seed writes no events (25,000+ of them would keep the
relay busy long after the seed) but a manifest, a CSV file whose columns are the
account.opened payload plus opened_at; `read_manifest` reads it, converting the overdraft
limit as `events.on_account_opened` does, and the ledger accounts get the values that
handler would give them (plus their final balance and opening time).

What is written: `transactions` journal entries (two postings each). The first are one
opening deposit per account, then a mix of
salary deposits (from the bank's settlement account in the currency) and transfers between
customers in one currency, spread evenly over the time between the last account opening
and now. Each entry is planned against running balances kept here, by the rules
`ledger.posting.plan_entry` applies (no account below minus its overdraft limit, the
settlement account may go negative), so every posting's balance_after is the account's
running balance and each account's final balance is the sum of its postings.

How it stays fast and safe: COPY fires row triggers, and a row-by-row load of a million
entries takes far too long (measured here: the deferred balance triggers took 50 s at commit
for 100,000 entries, so ~8 minutes for a million; at a million, per-row foreign-key checks
cost another ~25 s and index upkeep ~20 s). So, in the seed's single transaction, as the owner:
1. journal_entries and postings are locked ACCESS EXCLUSIVE (no other session can read or
   write them until commit) and must be empty;
2. the two deferred balance triggers are disabled, and the keys, foreign keys and indexes of
   the two tables are dropped (their definitions saved from the catalogue);
3. the rows go in with COPY;
4. indexes, keys and foreign keys are re-created from the saved definitions (PostgreSQL
   validates every row while doing so) and the triggers enabled again; the seed checks the
   catalogue now reads exactly as before;
5. the ledger integrity check (ledger.integrity.check_ledger) runs, plus the checks the
   disabled triggers make that it does not (posting currency = account currency) and that
   no running balance went past an overdraft limit; any violation raises and the whole
   transaction rolls back, so nothing of a bad seed is ever committed.
The append-only triggers (BEFORE UPDATE OR DELETE) are never touched: COPY only inserts.
The balance-chain guards of migration 0005 (postings_guard, ledger_accounts_guard) are
disabled with the deferred triggers and re-enabled before the checks; SEED_CHECK verifies
what they would have (every balance_after is its account's running sum). Each customer's
KYC status goes into ledger_customers (manifest columns kyc_status / customer_version,
verified / 0 when the manifest predates them).
The app roles' rights are unchanged: only the owner can alter the tables.
"""
from __future__ import annotations

import csv
import random
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common.amounts import currency_places, to_minor

from .domain.ledger.accounts import ensure_settlement_account
from .domain.ledger.integrity import Violation, check_ledger
from .domain.ledger.partitions import create_months
from .domain.insights.spending import BACKFILL_SPENDING
from .domain.risk.facts import BACKFILL_PAYEES

MANIFEST_FIELDS = ("account_id", "customer_id", "currency", "type", "overdraft_limit", "status",
                   "opened_at")
# Added by the accounts seed with versions and KYC (accounts_0004); a manifest without them is
# read as version 1 and KYC verified, so a demo seeded before keeps moving money.
OPTIONAL_FIELDS = ("kyc_status", "version", "customer_version", "number")
BULK_TABLES = ("journal_entries", "postings")
BALANCE_TRIGGERS = (("postings", "postings_balanced"), ("journal_entries", "entry_has_postings"),
                    ("postings", "postings_guard"))
# Row by row it would look up each account's latest posting with the indexes dropped; the
# seed checks the same (balance = last running balance, the chain) once, below.
ACCOUNT_TRIGGER = ("ledger_accounts", "ledger_accounts_guard")
SALARY_SHARE = 0.08  # of the entries after the opening deposits; the rest are transfers
# Categories of the category master (migration 0014); None: the line gets the default.
SPENDING = (("groceries", "Groceries"), ("shopping", "New shoes"), ("utilities", "Electricity bill"),
            ("entertainment", "Dinner with friends"), ("transportation", "Train tickets"),
            ("entertainment", "Concert tickets"), (None, "Paying you back"), (None, "Transfer"))
# What the disabled deferred triggers check and check_ledger does not, and the overdraft rule
# for every running balance (the CHECK on ledger_accounts sees only the final one).
SEED_CHECK = """
    SELECT CASE WHEN p.currency <> a.currency THEN 'posting_in_other_currency'
                ELSE 'running_balance_past_overdraft' END AS check,
           p.id::text AS subject,
           p.currency || ' ' || p.balance_after || ' on a ' || a.currency || ' account with overdraft '
               || a.overdraft_limit AS detail
    FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
    WHERE p.currency <> a.currency OR (NOT a.may_go_negative AND p.balance_after < -a.overdraft_limit)
    UNION ALL
    SELECT 'running_balance_chain', id::text, 'balance_after ' || balance_after || ' but the postings sum to ' || running
    FROM (SELECT id, balance_after, sum(amount) OVER (PARTITION BY account_id ORDER BY created_at, id) AS running
            FROM postings) chain
    WHERE balance_after <> running
    LIMIT 100"""
_BATCH = 20_000
_ENTRY_COLUMNS = ("id, kind, amount, currency, description, category, from_account_id, to_account_id, "
                  "initiated_by, created_at")
_POSTING_COLUMNS = "entry_id, account_id, amount, currency, balance_after, category, categorized_by, created_at"
_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_V4 = (0x4 << 76) | (0x2 << 62)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class SeedRefused(RuntimeError):
    """The ledger already has entries (or these accounts); seed an empty ledger (`make clean`)."""


class LedgerCheckFailed(RuntimeError):
    def __init__(self, violations: list[Violation]):
        self.violations = violations
        shown = "; ".join(f"{v.check} {v.subject}: {v.detail}" for v in violations[:5])
        super().__init__(f"the seeded ledger fails its integrity check ({len(violations)}+): {shown}")


@dataclass(frozen=True)
class OpenedAccount:
    account_id: str
    customer_id: str
    currency: str
    type: str
    overdraft_limit: int  # minor units
    status: str
    opened_at: datetime
    version: int = 1
    kyc_status: str = "verified"
    customer_version: int = 0
    number: str | None = None  # the account's IBAN (an IBAN of this bank pays it)


@dataclass
class LedgerSeed:
    accounts: int = 0
    entries: int = 0
    deposits: int = 0
    transfers: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def read_manifest(path: Path) -> list[OpenedAccount]:
    """The accounts seed's manifest; overdraft limits converted like on_account_opened does."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = tuple(reader.fieldnames or ())
        if columns[:len(MANIFEST_FIELDS)] != MANIFEST_FIELDS \
                or not set(columns[len(MANIFEST_FIELDS):]) <= set(OPTIONAL_FIELDS):
            raise ValueError(f"{path}: expected columns {', '.join(MANIFEST_FIELDS)}, then any of "
                             f"{', '.join(OPTIONAL_FIELDS)}")
        return [OpenedAccount(row["account_id"], row["customer_id"], row["currency"].upper(), row["type"],
                              to_minor(Decimal(row["overdraft_limit"]), row["currency"].upper()),
                              row["status"], datetime.fromisoformat(row["opened_at"]),
                              version=int(row.get("version") or 1),
                              kyc_status=row.get("kyc_status") or "verified",
                              customer_version=int(row.get("customer_version") or 0),
                              number=row.get("number") or None)
                for row in reader]


def seed_ledger(session: Session, accounts: list[OpenedAccount], transactions: int, *,
                random_seed: int = 8, end: datetime | None = None) -> LedgerSeed:
    """Write the ledger accounts and `transactions` journal entries in the session's transaction.

    Raises SeedRefused on a ledger that is not empty and LedgerCheckFailed if the result
    does not pass the integrity check; the caller commits only on success.
    """
    result = LedgerSeed(accounts=len(accounts))
    clock = _Stopwatch(result.timings)
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.execute("SET LOCAL lock_timeout = '30s'")
    cursor.execute("LOCK TABLE journal_entries, postings IN ACCESS EXCLUSIVE MODE")
    _refuse_unless_empty(cursor, accounts)
    end = end or datetime.now(timezone.utc) - timedelta(minutes=1)
    if not any(account.status == "active" for account in accounts):
        raise ValueError("the manifest lists no active account")
    start = max(account.opened_at for account in accounts) + timedelta(seconds=1)
    if start >= end:
        raise ValueError("the accounts opened too recently to have a history")
    # The history's months get their partitions (migration 0011) before it is loaded, rather
    # than all of it landing in postings_default.
    create_months(session, start.date(), end.date())
    book = _Book(accounts, {currency: ensure_settlement_account(session, currency)
                            for currency in sorted({a.currency for a in accounts})})
    rng = random.Random(random_seed)
    with clock("drop_checks"):
        saved = _drop_row_checks(cursor)
    with tempfile.TemporaryFile("w+") as postings_file:
        with clock("entries"), cursor.copy(f"COPY journal_entries ({_ENTRY_COLUMNS}) FROM STDIN") as copy:
            result.deposits, result.transfers = book.simulate(rng, transactions, start, end, copy.write,
                                                              postings_file.write)
        postings_file.seek(0)
        with clock("postings"), cursor.copy(f"COPY postings ({_POSTING_COLUMNS}) FROM STDIN") as copy:
            while chunk := postings_file.read(1 << 22):
                copy.write(chunk)
    with clock("ledger_accounts"):
        book.write_accounts(cursor)
    with clock("restore_checks"):
        _restore_row_checks(cursor, saved)
    with clock("spending"):
        # Budgets and insights read the aggregates: the history's spending is in them too.
        session.execute(BACKFILL_SPENDING)
    with clock("risk_payees"):
        # The payees the history paid are known to the risk rules (new_payee_large, unusual_country).
        session.execute(BACKFILL_PAYEES)
    result.entries = result.deposits + result.transfers
    with clock("analyze"):
        cursor.execute("ANALYZE ledger_accounts, journal_entries, postings")
    with clock("integrity_check"):
        cursor.execute("SET LOCAL work_mem = '64MB'")
        violations = check_ledger(session) + [
            Violation(row.check, row.subject, row.detail) for row in session.execute(text(SEED_CHECK))]
        if violations:
            raise LedgerCheckFailed(violations)
    return result


def _refuse_unless_empty(cursor, accounts: list[OpenedAccount]) -> None:
    if cursor.execute("SELECT EXISTS (SELECT 1 FROM journal_entries)").fetchone()[0]:
        raise SeedRefused("the ledger already has journal entries; seed an empty ledger")
    clash = cursor.execute("SELECT count(*) FROM ledger_accounts WHERE id = ANY(%s)",
                           ([a.account_id for a in accounts],)).fetchone()[0]
    if clash:
        raise SeedRefused(f"{clash} of these accounts are in the ledger already")


class _Book:
    """Running balances of the seeded accounts (active ones first) and the settlement accounts, by index."""

    def __init__(self, accounts: list[OpenedAccount], settlement: dict[str, str]):
        self.accounts = accounts
        active = [a for a in accounts if a.status == "active"]
        self.active = len(active)
        self.ids = [a.account_id for a in active] + list(settlement.values())
        self.currency = [a.currency for a in active] + list(settlement)
        self.customer = [a.customer_id for a in active] + [None] * len(settlement)
        self.overdraft = [a.overdraft_limit for a in active] + [0] * len(settlement)
        self.balance = [0] * len(self.ids)
        self.postings = [0] * len(self.ids)
        self.settlement = {currency: self.active + i for i, currency in enumerate(settlement)}
        self.scale = {currency: 10 ** currency_places(currency) for currency in settlement}
        self.peers: dict[str, list[int]] = {}  # accounts that can send each other money
        for index in range(self.active):
            self.peers.setdefault(self.currency[index], []).append(index)

    def simulate(self, rng: random.Random, count: int, start: datetime, end: datetime,
                 write_entries, write_postings) -> tuple[int, int]:
        """Plan `count` entries in time order and write them as COPY text; returns (deposits, transfers)."""
        step = max(1, (end - start) // timedelta(microseconds=1) // max(count, 1))
        first = (start - _EPOCH) // timedelta(microseconds=1)
        openings = rng.sample(range(self.active), min(self.active, count))
        ids, currency, balance = self.ids, self.currency, self.balance
        entries, legs, deposits = [], [], 0
        for number in range(count):
            if number < len(openings):
                move = self._deposit(openings[number], rng.randint(200, 3000), "Opening deposit")
            else:
                move = self._transfer_or_salary(rng)
            kind, source, target, amount, description, category = move
            deposits += kind == "deposit"
            balance[source] -= amount
            balance[target] += amount
            self.postings[source] += 1
            self.postings[target] += 1
            # Evenly spread, with jitter inside each step, so times only ever increase.
            at = (_EPOCH + timedelta(microseconds=first + number * step + rng.randrange(step))).isoformat(" ")
            entry_id = f"{rng.getrandbits(128) & _UUID_CLEAR | _UUID_V4:032x}"
            code, cat = currency[target], category or "\\N"
            initiator = "system:seed" if kind == "deposit" else f"customer:{self.customer[source]}"
            entries.append(f"{entry_id}\t{kind}\t{amount}\t{code}\t{description}\t{cat}\t{ids[source]}\t"
                           f"{ids[target]}\t{initiator}\t{at}\n")
            # Like domain/insights/categorize.py: the request's category on the paying leg, else the
            # default (`transfer` between customers, `other` otherwise); the bank's legs none.
            default = "transfer" if kind == "transfer" and self.customer[source] != self.customer[target] else "other"
            paying = "\\N\t\\N" if kind == "deposit" else (f"{cat}\trequest" if category else f"{default}\tdefault")
            legs.append(f"{entry_id}\t{ids[source]}\t{-amount}\t{code}\t{balance[source]}\t{paying}\t{at}\n"
                        f"{entry_id}\t{ids[target]}\t{amount}\t{code}\t{balance[target]}\t{default}\tdefault"
                        f"\t{at}\n")
            if len(entries) == _BATCH or number == count - 1:
                write_entries("".join(entries))
                write_postings("".join(legs))
                entries.clear()
                legs.clear()
        return deposits, count - deposits

    def _deposit(self, target: int, units: int, description: str) -> tuple:
        settlement = self.settlement[self.currency[target]]
        return "deposit", settlement, target, units * self.scale[self.currency[target]], description, None

    def _transfer_or_salary(self, rng: random.Random) -> tuple:
        """A customer pays a peer what plan_entry would allow, or, now and then, is paid a salary."""
        source = rng.randrange(self.active)
        peers = self.peers[self.currency[source]]
        target = peers[rng.randrange(len(peers))]
        available = self.balance[source] + self.overdraft[source]  # no holds in the seed
        amount = rng.randint(1, 300 * self.scale[self.currency[source]])
        if amount > available:
            amount = rng.randint(1, available) if available > 0 else 0
        if target == source or amount == 0 or rng.random() < SALARY_SHARE:
            return self._deposit(source, rng.randint(1500, 4500), "Salary")
        category, description = SPENDING[rng.randrange(len(SPENDING))]
        return "transfer", source, target, amount, description, category

    def write_accounts(self, cursor) -> None:
        """The customers' ledger accounts with their final balances, and the settlement balances."""
        index = {account_id: i for i, account_id in enumerate(self.ids)}
        with cursor.copy("COPY ledger_accounts (id, customer_id, kind, currency, status, overdraft_limit, "
                         "balance, version, created_at, updated_at, iban, account_type) FROM STDIN") as copy:
            for account in self.accounts:
                i = index.get(account.account_id)
                balance = self.balance[i] if i is not None else 0
                copy.write_row((account.account_id, account.customer_id, "customer", account.currency,
                                account.status, account.overdraft_limit, balance, account.version,
                                account.opened_at, account.opened_at, account.number, account.type))
        for i in self.settlement.values():
            cursor.execute("UPDATE ledger_accounts SET balance = balance + %s, updated_at = now() WHERE id = %s",
                           (self.balance[i], self.ids[i]))
        # Each customer's KYC status (an account row repeats its owner's); the newest version wins.
        customers: dict[str, tuple[str, int]] = {}
        for account in self.accounts:
            known = customers.get(account.customer_id)
            if known is None or account.customer_version >= known[1]:
                customers[account.customer_id] = (account.kyc_status, account.customer_version)
        cursor.execute("""
            INSERT INTO ledger_customers (customer_id, kyc_status, version)
            SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])
            ON CONFLICT (customer_id) DO UPDATE SET kyc_status = excluded.kyc_status, version = excluded.version
             WHERE ledger_customers.version <= excluded.version""",
                       (list(customers), [k for k, _ in customers.values()], [v for _, v in customers.values()]))


# What the bulk load drops and re-creates, as (kind, statement to drop, statement to re-create),
# read from the catalogue so that the seed follows the migrations; and the triggers' state.
_SNAPSHOT = """
    WITH bulk AS (SELECT %(tables)s::regclass[] AS tables)
    SELECT 'fk' AS kind,
           format('ALTER TABLE %%s DROP CONSTRAINT %%I', conrelid::regclass, conname) AS undo,
           format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass, conname,
                  pg_get_constraintdef(oid)) AS redo
      FROM pg_constraint, bulk
     -- conparentid = 0: a partition's copy of a parent's key goes and comes with the parent's.
     WHERE contype = 'f' AND (conrelid = ANY(tables) OR confrelid = ANY(tables)) AND conparentid = 0
    UNION ALL
    SELECT 'key', format('ALTER TABLE %%s DROP CONSTRAINT %%I', conrelid::regclass, conname),
           format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass, conname, pg_get_constraintdef(oid))
      FROM pg_constraint, bulk
     WHERE contype IN ('p', 'u', 'x') AND conrelid = ANY(tables)
    UNION ALL
    -- A partitioned table's index reads "ON ONLY postings": re-created so, its partitions would
    -- have none (and the parent's index would stay invalid).
    SELECT 'index', format('DROP INDEX %%s', indexrelid::regclass),
           replace(pg_get_indexdef(indexrelid), ' ON ONLY ', ' ON ')
      FROM pg_index i, bulk
     WHERE indrelid = ANY(tables)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
    UNION ALL
    SELECT 'trigger', tgname, tgrelid::regclass::text || ' ' || tgenabled::text
      FROM pg_trigger, bulk
     WHERE tgrelid = ANY(tables) AND NOT tgisinternal
    ORDER BY 1, 2, 3"""


def _schema(cursor) -> list[tuple[str, str, str]]:
    return cursor.execute(_SNAPSHOT, {"tables": list(BULK_TABLES)}).fetchall()


def _drop_row_checks(cursor) -> list[tuple[str, str, str]]:
    """Disable the balance triggers, drop keys, foreign keys and indexes; returns the catalogue.

    Runs inside the caller's transaction: on an error the caller rolls back, which also
    undoes every DDL statement here.
    """
    saved = _schema(cursor)
    for table, trigger in BALANCE_TRIGGERS + (ACCOUNT_TRIGGER,):
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    for kind in ("fk", "key", "index"):
        for _, undo, _ in (row for row in saved if row[0] == kind):
            cursor.execute(undo)
    return saved


def _restore_row_checks(cursor, saved: list[tuple[str, str, str]]) -> None:
    """Re-create what was dropped (validating every row) and check the catalogue reads as before."""
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for kind in ("index", "key", "fk"):
        for _, _, redo in (row for row in saved if row[0] == kind):
            cursor.execute(redo)
    for table, trigger in BALANCE_TRIGGERS + (ACCOUNT_TRIGGER,):
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    if _schema(cursor) != saved or not _account_trigger_enabled(cursor):
        raise RuntimeError("the ledger's constraints, indexes or triggers differ after the bulk load")


def _account_trigger_enabled(cursor) -> bool:
    table, trigger = ACCOUNT_TRIGGER
    return cursor.execute("SELECT tgenabled = 'O' FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
                          (table, trigger)).fetchone() == (True,)


class _Stopwatch:
    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - began
