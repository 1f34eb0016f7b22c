"""A customer's category rules (API.md): RE2 patterns on a line's description and merchant,
a priority (the higher wins), active or not. Another customer's rule answers as missing."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..ledger.errors import InvalidInput, NotFound
from .categories import SLUGS
from .patterns import PatternError, check_pattern

MAX_RULES = 100   # per customer: every posted line of theirs is tested against each active one
FIELDS = ("category", "description_pattern", "merchant_pattern", "priority", "active")


@dataclass(frozen=True)
class CategoryRuleRow:
    id: uuid.UUID
    customer_id: str
    category: str
    description_pattern: str | None
    merchant_pattern: str | None
    priority: int
    active: bool
    created_at: datetime
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "category": self.category, "description_pattern": self.description_pattern,
                "merchant_pattern": self.merchant_pattern, "priority": self.priority, "active": self.active}


_COLUMNS = ("id, customer_id, category, description_pattern, merchant_pattern, priority, active, created_at, "
            "updated_at")


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    if values["category"] not in SLUGS:
        raise InvalidInput(f"Unknown category {values['category']}.",
                           errors={"category": [f"One of {', '.join(SLUGS)}."]})
    for field in ("description_pattern", "merchant_pattern"):
        try:
            check_pattern(values[field])
        except PatternError as error:
            raise InvalidInput(str(error), errors={field: [str(error)]}) from None
    if values["description_pattern"] is None and values["merchant_pattern"] is None:
        message = "A rule needs a description_pattern or a merchant_pattern."
        raise InvalidInput(message, errors={"description_pattern": [message]})
    return values


def create_rule(session: Session, customer_id: str, values: dict[str, Any]) -> CategoryRuleRow:
    values = _checked({"description_pattern": None, "merchant_pattern": None, "priority": 0, "active": True,
                       **values})
    # One customer's rules are counted under a lock of their own, so two creations at once
    # cannot both pass the limit.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('category_rules:' || :customer))"),
                    {"customer": customer_id})
    count = session.execute(text("SELECT count(*) FROM category_rules WHERE customer_id = :customer"),
                            {"customer": customer_id}).scalar_one()
    if count >= MAX_RULES:
        message = f"A customer has at most {MAX_RULES} category rules."
        raise InvalidInput(message, errors={"category": [message]})
    row = session.execute(text(
        f"INSERT INTO category_rules (id, customer_id, category, description_pattern, merchant_pattern, priority, "
        f"active) VALUES (:id, :customer, :category, :description_pattern, :merchant_pattern, :priority, :active) "
        f"RETURNING {_COLUMNS}"), {"id": uuid.uuid4(), "customer": customer_id, **values}).one()
    return CategoryRuleRow(**row._mapping)


def list_rules(session: Session, customer_id: str) -> list[CategoryRuleRow]:
    rows = session.execute(text(f"SELECT {_COLUMNS} FROM category_rules WHERE customer_id = :customer "
                                f"ORDER BY priority DESC, created_at, id"), {"customer": customer_id})
    return [CategoryRuleRow(**row._mapping) for row in rows]


def get_rule(session: Session, customer_id: str, rule_id: uuid.UUID, *, lock: bool = False) -> CategoryRuleRow:
    row = session.execute(text(f"SELECT {_COLUMNS} FROM category_rules WHERE id = :id AND customer_id = :customer"
                               + (" FOR UPDATE" if lock else "")), {"id": rule_id, "customer": customer_id}).first()
    if row is None:
        raise NotFound(f"Category rule {rule_id} does not exist.")
    return CategoryRuleRow(**row._mapping)


def update_rule(session: Session, customer_id: str, rule_id: uuid.UUID, changes: dict[str, Any]) -> CategoryRuleRow:
    current = get_rule(session, customer_id, rule_id, lock=True)
    values = _checked({**{field: getattr(current, field) for field in FIELDS}, **changes})
    row = session.execute(text(
        f"UPDATE category_rules SET category = :category, description_pattern = :description_pattern, "
        f"merchant_pattern = :merchant_pattern, priority = :priority, active = :active, updated_at = now() "
        f"WHERE id = :id RETURNING {_COLUMNS}"), {"id": rule_id, **values}).one()
    return CategoryRuleRow(**row._mapping)


def delete_rule(session: Session, customer_id: str, rule_id: uuid.UUID) -> None:
    get_rule(session, customer_id, rule_id, lock=True)
    session.execute(text("DELETE FROM category_rules WHERE id = :id"), {"id": rule_id})
