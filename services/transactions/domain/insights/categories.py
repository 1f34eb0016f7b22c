"""The category master's slugs (migration 0014 seeds the table with them; a test keeps the two
equal) and the default a line gets when neither the request nor a rule gives one."""
from __future__ import annotations

SLUGS = ("groceries", "utilities", "entertainment", "transportation", "healthcare", "shopping",
         "subscriptions", "salary", "transfer", "other")


def default_category(between_customers: bool) -> str:
    """API.md: `transfer` between customers, `other` otherwise."""
    return "transfer" if between_customers else "other"
