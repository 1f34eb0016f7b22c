"""Each new statement line's category, as the posting path writes it (API.md): the category
given in the request (the requester's own line), else the highest-priority matching active
rule of the line's customer (ties: the older rule), else `transfer` between customers and
`other` otherwise; `categorized_by` says which. The bank's own accounts' postings carry none.

Runs inside ledger/posting.write_entries for every path (transfers, IBANs, captures,
batches, automation), one query for the rules of every customer the entries touch.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.orm import Session

from .categories import default_category
from .patterns import matches


@dataclass(frozen=True)
class CategoryRule:
    category: str
    description_pattern: str | None
    merchant_pattern: str | None


_RULES = text("""
    SELECT customer_id, category, description_pattern, merchant_pattern FROM category_rules
     WHERE customer_id = ANY(CAST(:customers AS text[])) AND active
     ORDER BY customer_id, priority DESC, created_at, id
""")


def active_rules(session: Session, customers: list[str]) -> dict[str, list[CategoryRule]]:
    found: dict[str, list[CategoryRule]] = {}
    for row in session.execute(_RULES, {"customers": customers}):
        found.setdefault(row.customer_id, []).append(
            CategoryRule(row.category, row.description_pattern, row.merchant_pattern))
    return found


def categorize(session: Session, entries: list) -> list:
    customers = sorted({leg.customer_id for entry in entries for leg in entry.legs if leg.customer_id})
    rules = active_rules(session, customers) if customers else {}
    return [replace(entry, legs=tuple(_categorized(entry, leg, rules) for leg in entry.legs)) for entry in entries]


def _categorized(entry, leg, rules: dict[str, list[CategoryRule]]):
    if leg.customer_id is None:
        return replace(leg, category=None, categorized_by=None)
    if leg.account_id == entry.from_account_id and entry.category:
        return replace(leg, category=entry.category, categorized_by="request")
    for rule in rules.get(leg.customer_id, ()):
        if matches(rule.description_pattern, entry.description) and matches(rule.merchant_pattern, entry.merchant):
            return replace(leg, category=rule.category, categorized_by="rule")
    between = entry.kind == "external_transfer" or any(
        other.customer_id not in (None, leg.customer_id) for other in entry.legs)
    return replace(leg, category=default_category(between), categorized_by="default")
