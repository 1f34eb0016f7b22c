"""Re-categorising a statement line (API.md `PATCH /api/v1/accounts/{id}/transactions/{line_id}`):
an annotation beside the immutable posting, which the statement, its category filter, the
budgets and the insights see. Spending moves from the old category to the new one on the
line's day, and a budget the move takes past its limit raises its alert like a posting."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..ledger.accounts import lock_accounts_in_order
from ..ledger.errors import InvalidInput, NotFound
from .categories import SLUGS
from .spending import add_spending, check_budgets, spending_sql

_LINE = text(f"""
    SELECT p.id, p.account_id, p.amount, p.currency, coalesce(c.category, p.category, 'other') AS category,
           CAST(e.created_at AT TIME ZONE 'UTC' AS date) AS day,
           {spending_sql("p", ":customer")} AS spending
      FROM postings p
      JOIN journal_entries e ON e.id = p.entry_id
      LEFT JOIN line_categories c ON c.posting_id = p.id
     WHERE p.id = :id AND p.account_id = :account
""")

_ANNOTATE = text("""
    INSERT INTO line_categories (posting_id, account_id, category) VALUES (:id, :account, :category)
    ON CONFLICT (posting_id) DO UPDATE SET category = EXCLUDED.category, updated_at = now()
""")


def recategorize(session: Session, customer_id: str, account_id: str, line_id: int, category: str) -> None:
    if category not in SLUGS:
        raise InvalidInput(f"Unknown category {category}.", errors={"category": [f"One of {', '.join(SLUGS)}."]})
    # The account's lock serializes two changes of its lines (and a posting on it).
    account = lock_accounts_in_order(session, [account_id]).get(account_id)
    if account is None or account.kind != "customer" or account.customer_id != customer_id:
        raise NotFound(f"Account {account_id} does not exist.")
    line = session.execute(_LINE, {"id": line_id, "account": account_id, "customer": customer_id}).first()
    if line is None:
        raise NotFound(f"Line {line_id} does not exist.")
    session.execute(_ANNOTATE, {"id": line_id, "account": account_id, "category": category})
    if line.spending and line.category != category:
        currency, spent = line.currency.strip(), -line.amount
        add_spending(session, [(customer_id, line.category, account_id, currency, -spent, -1),
                               (customer_id, category, account_id, currency, spent, 1)], line.day)
        check_budgets(session, [(customer_id, category)], line.day)
