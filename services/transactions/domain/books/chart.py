"""The chart of accounts: the bank's books in five types with a hierarchy.

Headers (four-digit codes, no currency) group leaves; a leaf is one family in one currency,
`<family>-<currency>` (`1100-EUR`: Settlement accounts EUR). Leaves marked with a ledger
kind hold the ledger's accounts of that kind in their currency: the bank's settlement,
FX clearing and fee accounts, and under the liability control account 2100 every customer
account (which take no manual lines). Unknown ledger kinds fall into the suspense leaf 1900,
so the books always balance and such accounts stand out.

The migration seeds the chart; `sync_chart` adds what is missing (the headers, and the leaves
of every currency the ledger holds) from the same definitions, idempotently, before the
books are read or written.

Signs: a ledger posting's amount is positive when money goes into the account. For the
bank's books that is a credit (a customer's balance is what the bank owes: a credit on a
liability; a deposit takes money out of the settlement account in the ledger: a debit on an
asset, the bank holds more cash). So a ledger amount `a` is a credit of `a` when positive
and a debit of `-a` when negative. A balance is shown on the account's normal side: debit
minus credit for assets and expenses, credit minus debit for liabilities, equity and
revenue; the customer deposits control balance is therefore the sum of the customer
accounts' balances in that currency.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

TYPES = ("asset", "liability", "equity", "revenue", "expense")
DEBIT_NORMAL = frozenset({"asset", "expense"})

# (code, name, type, parent_code); parents first. Copied, frozen, in migration 0007.
HEADERS = [
    ("1000", "Assets", "asset", None),
    ("1100", "Settlement accounts", "asset", "1000"),
    ("1300", "FX clearing", "asset", "1000"),
    ("1900", "Suspense", "asset", "1000"),
    ("2000", "Liabilities", "liability", None),
    ("2100", "Customer deposits", "liability", "2000"),
    ("2200", "Outgoing payments clearing", "liability", "2000"),
    ("3000", "Equity", "equity", None),
    ("3100", "Share capital", "equity", "3000"),
    ("3200", "Retained earnings", "equity", "3000"),
    ("4000", "Revenue", "revenue", None),
    ("4100", "Fee income", "revenue", "4000"),
    ("4200", "FX income", "revenue", "4000"),
    ("5000", "Expenses", "expense", None),
    ("5100", "Rewards expense", "expense", "5000"),
    ("5200", "Operating expenses", "expense", "5000"),
]
# Family code -> the ledger kind its leaves hold (None: manual journal lines only).
FAMILIES = {
    "1100": "settlement", "1300": "fx_clearing", "1900": None, "2100": "customer",
    "2200": "outgoing_clearing", "3100": None, "3200": None, "4100": "fees", "4200": None,
    "5100": "rewards", "5200": None,
}
SUSPENSE = "1900"
CUSTOMER_KIND = "customer"
SEED_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "SEK", "PLN", "BHD")


def leaf_code(family: str, currency: str) -> str:
    return f"{family}-{currency}"


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    type: str
    parent_code: str | None
    currency: str | None
    ledger_kind: str | None

    @property
    def is_leaf(self) -> bool:
        return self.currency is not None

    @property
    def postable(self) -> bool:
        """Takes manual journal lines: a leaf that is not the customer deposits control."""
        return self.is_leaf and self.ledger_kind != CUSTOMER_KIND

    def normal(self, credit_minus_debit: int) -> int:
        """A net amount (credit positive) on this account's normal side."""
        return -credit_minus_debit if self.type in DEBIT_NORMAL else credit_minus_debit


_SYNC_HEADERS = text("""
    INSERT INTO chart_accounts (code, name, type, parent_code)
    SELECT code, name, type, parent_code
      FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:types AS text[]),
                         CAST(:parents AS text[])) WITH ORDINALITY AS h(code, name, type, parent_code, n)
     WHERE NOT EXISTS (SELECT 1 FROM chart_accounts c WHERE c.code = h.code)
     ORDER BY n
    ON CONFLICT DO NOTHING
""")

_SYNC_LEAVES = text("""
    INSERT INTO chart_accounts (code, name, type, parent_code, currency, ledger_kind)
    SELECT f.code || '-' || c.currency, h.name || ' ' || c.currency, h.type, f.code, c.currency, f.kind
      FROM unnest(CAST(:families AS text[]), CAST(:kinds AS text[])) AS f(code, kind)
      JOIN chart_accounts h ON h.code = f.code
     CROSS JOIN (SELECT unnest(CAST(:currencies AS text[])) AS currency
                 UNION SELECT DISTINCT currency::text FROM ledger_accounts) AS c
     WHERE NOT EXISTS (SELECT 1 FROM chart_accounts x WHERE x.code = f.code || '-' || c.currency)
     ORDER BY 1
    ON CONFLICT DO NOTHING
""")


def sync_chart(session: Session, currencies: tuple[str, ...] | list[str] = ()) -> None:
    """Add the missing headers and leaves (seed currencies, the ledger's, and `currencies`)."""
    session.execute(_SYNC_HEADERS, {"codes": [h[0] for h in HEADERS], "names": [h[1] for h in HEADERS],
                                    "types": [h[2] for h in HEADERS], "parents": [h[3] for h in HEADERS]})
    session.execute(_SYNC_LEAVES, {"families": list(FAMILIES), "kinds": list(FAMILIES.values()),
                                   "currencies": sorted(set(SEED_CURRENCIES) | set(currencies))})


def chart(session: Session) -> list[ChartAccount]:
    rows = session.execute(text(
        "SELECT code, name, type, parent_code, currency, ledger_kind FROM chart_accounts ORDER BY code")).all()
    return [ChartAccount(row.code, row.name, row.type, row.parent_code,
                         row.currency.strip() if row.currency else None, row.ledger_kind) for row in rows]


def accounts_by_code(session: Session, codes: list[str]) -> dict[str, ChartAccount]:
    rows = session.execute(text(
        "SELECT code, name, type, parent_code, currency, ledger_kind FROM chart_accounts "
        "WHERE code = ANY(CAST(:codes AS text[]))"), {"codes": codes}).all()
    return {row.code: ChartAccount(row.code, row.name, row.type, row.parent_code,
                                   row.currency.strip() if row.currency else None, row.ledger_kind)
            for row in rows}
