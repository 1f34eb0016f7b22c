"""Budgets (API.md): a limit per customer, month and category in a currency; what was spent,
what remains and the percent used, from the spending aggregates (spending.py)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common.amounts import from_minor

from ..ledger.errors import BudgetExists, InvalidInput, NotFound
from .categories import SLUGS
from .spending import Spent, percent, spent_by_category


@dataclass(frozen=True)
class Budget:
    id: uuid.UUID
    customer_id: str
    month: date
    category: str
    currency: str
    limit_amount: int


_COLUMNS = "id, customer_id, month, category, currency, limit_amount"


def _budget(row) -> Budget:
    values = dict(row._mapping)
    values["currency"] = values["currency"].strip()
    return Budget(**values)


def create_budget(session: Session, customer_id: str, *, month: date, category: str, currency: str,
                  limit_amount: int) -> Budget:
    if category not in SLUGS:
        raise InvalidInput(f"Unknown category {category}.", errors={"category": [f"One of {', '.join(SLUGS)}."]})
    row = session.execute(text(
        f"INSERT INTO budgets (id, customer_id, month, category, currency, limit_amount) "
        f"VALUES (:id, :customer, :month, :category, :currency, :limit) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"),
        {"id": uuid.uuid4(), "customer": customer_id, "month": month, "category": category, "currency": currency,
         "limit": limit_amount}).first()
    if row is None:
        raise BudgetExists(f"There is a budget for {category} in {month:%Y-%m} already.",
                           month=f"{month:%Y-%m}", category=category)
    return _budget(row)


def list_budgets(session: Session, customer_id: str, month: date | None = None) -> list[Budget]:
    rows = session.execute(text(
        f"SELECT {_COLUMNS} FROM budgets WHERE customer_id = :customer "
        f"AND (CAST(:month AS date) IS NULL OR month = :month) ORDER BY month DESC, category"),
        {"customer": customer_id, "month": month})
    return [_budget(row) for row in rows]


def get_budget(session: Session, customer_id: str, budget_id: uuid.UUID, *, lock: bool = False) -> Budget:
    row = session.execute(text(f"SELECT {_COLUMNS} FROM budgets WHERE id = :id AND customer_id = :customer"
                               + (" FOR UPDATE" if lock else "")), {"id": budget_id, "customer": customer_id}).first()
    if row is None:
        raise NotFound(f"Budget {budget_id} does not exist.")
    return _budget(row)


def change_limit(session: Session, customer_id: str, budget_id: uuid.UUID, limit_amount: int) -> Budget:
    get_budget(session, customer_id, budget_id, lock=True)
    row = session.execute(text(f"UPDATE budgets SET limit_amount = :limit, updated_at = now() WHERE id = :id "
                               f"RETURNING {_COLUMNS}"), {"id": budget_id, "limit": limit_amount}).one()
    return _budget(row)


def delete_budget(session: Session, customer_id: str, budget_id: uuid.UUID) -> None:
    get_budget(session, customer_id, budget_id, lock=True)
    session.execute(text("DELETE FROM budgets WHERE id = :id"), {"id": budget_id})


def budget_json(session: Session, budget: Budget) -> dict[str, Any]:
    spent = spent_by_category(session, budget.customer_id, budget.month, budget.currency,
                              category=budget.category).get(budget.category, Spent(0, 0)).amount
    return {"id": str(budget.id), "month": f"{budget.month:%Y-%m}", "category": budget.category,
            "currency": budget.currency, "limit": from_minor(budget.limit_amount, budget.currency),
            "spent": from_minor(spent, budget.currency),
            "remaining": from_minor(budget.limit_amount - spent, budget.currency),
            "percent": percent(spent, budget.limit_amount)}
