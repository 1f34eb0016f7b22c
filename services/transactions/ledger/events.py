"""What the ledger tells other services about a posted entry."""
from __future__ import annotations

from ..money import from_minor
from .posting import PlannedEntry


def transfer_posted(entry: PlannedEntry, created_at: str) -> dict:
    return {
        "transfer_id": str(entry.id),
        "kind": entry.kind,
        "amount": from_minor(entry.amount, entry.currency),
        "currency": entry.currency,
        "description": entry.description,
        "created_at": created_at,
        "reverses_transfer_id": str(entry.reverses_entry_id) if entry.reverses_entry_id else None,
        "postings": [
            {"account_id": leg.account_id, "customer_id": leg.customer_id,
             "amount": from_minor(leg.amount, leg.currency), "currency": leg.currency,
             "balance_after": from_minor(leg.balance_after, leg.currency),
             "available_balance_after": from_minor(leg.available_after, leg.currency)}
            for leg in entry.legs
        ],
        "flags": [],
    }
