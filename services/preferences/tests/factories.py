"""Builders for the documents and events the preferences tests send."""
from __future__ import annotations

import uuid
from decimal import Decimal


def posting(customer_id: str | None, amount: str, balance_after: str, currency: str = "EUR",
            account_id: str | None = None) -> dict:
    return {"account_id": account_id or f"acct-{uuid.uuid4()}", "customer_id": customer_id,
            "amount": amount, "currency": currency, "balance_after": balance_after,
            "available_balance_after": balance_after}


def debit(customer_id: str, amount: str, balance_after: str, currency: str = "EUR",
          account_id: str | None = None, flags: tuple[str, ...] = ()) -> dict:
    """A `transfer.posted` envelope: the customer pays `amount` to the bank's settlement."""
    postings = [posting(customer_id, f"-{amount}", balance_after, currency, account_id),
                posting(None, amount, "0.00", currency, "bank-settlement")]
    return transfer_posted(postings, amount, currency, flags)


def transfer_posted(postings: list[dict], amount: str, currency: str = "EUR",
                    flags: tuple[str, ...] = (), kind: str = "transfer") -> dict:
    assert sum(Decimal(p["amount"]) for p in postings) == 0, "postings must balance"
    return {
        "id": str(uuid.uuid4()), "type": "transfer.posted", "source": "transactions",
        "occurred_at": "2026-11-25T10:00:00+00:00",
        "data": {"transfer_id": str(uuid.uuid4()), "kind": kind, "amount": amount,
                 "currency": currency, "description": "test", "postings": postings,
                 "created_at": "2026-11-25T10:00:00+00:00", "flags": list(flags)},
    }


def notification(customer_id: str, created_at, read_at=None, kind: str = "low_balance") -> dict:
    """A stored notification as the alert rules write it."""
    return {"_id": str(uuid.uuid4()), "event_key": f"{uuid.uuid4()}:{kind}:{customer_id}",
            "customer_id": customer_id, "kind": kind, "title": "Low balance", "message": "m",
            "channels": ["push"], "data": {"amount": "-1.00", "currency": "EUR"},
            "delivery": {"status": "pending", "deliver_after": created_at},
            "created_at": created_at, "read_at": read_at}


def _account_event(event_type: str, data: dict) -> dict:
    return {"id": str(uuid.uuid4()), "type": event_type, "source": "accounts",
            "occurred_at": "2026-11-25T10:00:00+00:00", "data": data}


def account_opened(customer_id: str, account_id: str | None = None,
                   account_type: str = "checking", currency: str = "EUR") -> dict:
    """As the accounts service publishes it (services/accounts/domain/accounts.py)."""
    return _account_event("account.opened", {
        "account_id": account_id or str(uuid.uuid4()), "customer_id": customer_id,
        "currency": currency, "type": account_type, "overdraft_limit": "0.00",
        "status": "active"})


def account_status_changed(account_id: str, status: str, customer_id: str | None = None) -> dict:
    data = {"account_id": account_id, "status": status}
    if customer_id:
        data["customer_id"] = customer_id
    return _account_event("account.status_changed", data)


def account_closed(account_id: str) -> dict:
    return _account_event("account.closed", {"account_id": account_id})
