"""Ledger values as the API shows them: decimal strings in the currency's places, RFC 3339 times."""
from __future__ import annotations

from datetime import datetime, timezone

from services.common.amounts import from_minor

from ..domain.ledger.accounts import LedgerAccount
from ..domain.ledger.statements import StatementLine
from ..domain.ledger.transfers import EntryView
from ..domain.books.values import decimal_text

def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _money_fields(entry) -> dict:
    """fee always ("0.00" when none); fx_rate and converted_* when the target's currency differs."""
    currency = entry.currency.strip()
    fields = {"fee": from_minor(entry.fee, currency)}
    received = (entry.to_currency or currency).strip()
    if received != currency:
        fields["converted_amount"] = from_minor(entry.to_amount, received)
        fields["converted_currency"] = received
        if entry.fx_rate is not None:
            fields["fx_rate"] = decimal_text(entry.fx_rate)
    return fields


def external_fields(to_iban: str | None, beneficiary_name: str | None, international: bool | None) -> dict:
    """An external transfer names its beneficiary; its header's target is the bank's clearing."""
    if to_iban is None:
        return {}
    return {"external": True, "international": bool(international), "to_iban": to_iban,
            "beneficiary_name": beneficiary_name, "to_account_id": None}


def transfer_json(entry: EntryView) -> dict:
    currency = entry.currency.strip()
    return {**_money_fields(entry),
        "id": str(entry.id),
        "kind": entry.kind,
        "status": entry.status,
        "from_account_id": entry.from_account_id,
        "to_account_id": entry.to_account_id,
        "amount": from_minor(entry.amount, currency),
        "currency": currency,
        "description": entry.description,
        "category": entry.category,
        "merchant": entry.merchant,
        "reverses_transfer_id": str(entry.reverses_entry_id) if entry.reverses_entry_id else None,
        "reversed_by": str(entry.reversed_by) if entry.reversed_by else None,
        "created_at": rfc3339(entry.created_at),
        **external_fields(entry.to_iban, entry.beneficiary_name, entry.international),
    }


def statement_line_json(line: StatementLine) -> dict:
    return {
        "id": str(line.id),
        "transfer_id": line.transfer_id,
        "kind": line.kind,
        "amount": from_minor(line.amount, line.currency),
        "currency": line.currency,
        "balance_after": from_minor(line.balance_after, line.currency),
        "description": line.description,
        "category": line.category,
        "merchant": line.merchant,
        "categorized_by": line.categorized_by,
        "created_at": rfc3339(line.created_at),
    }


def ledger_account_json(account: LedgerAccount) -> dict:
    currency = account.currency.strip()
    return {
        "account_id": account.id,
        "customer_id": account.customer_id,
        "currency": currency,
        "status": account.status,
        "balance": from_minor(account.balance, currency),
        "available_balance": from_minor(account.available_balance, currency),
        "held": from_minor(account.held, currency),
        "overdraft_limit": from_minor(account.overdraft_limit, currency),
    }


def planned_transfer_json(entry, created_at: datetime, external=None) -> dict:
    """A freshly posted entry (not yet read back), shaped like transfer_json; `external` the
    ExternalState of an external transfer (domain/ledger/external.py)."""
    return {**_money_fields(entry),
        "id": str(entry.id),
        "kind": entry.kind,
        "status": external.status if external else "posted",
        "from_account_id": entry.from_account_id,
        "to_account_id": entry.to_account_id,
        "amount": from_minor(entry.amount, entry.currency),
        "currency": entry.currency,
        "description": entry.description,
        "category": entry.category,
        "merchant": entry.merchant,
        "reverses_transfer_id": str(entry.reverses_entry_id) if entry.reverses_entry_id else None,
        "reversed_by": None,
        "created_at": rfc3339(created_at),
        **(external_fields(external.iban, external.beneficiary_name, external.international)
           if external else {}),
    }


def pending_review_json(review) -> dict:
    """A transfer the risk rules hold for review, as the customer sees it (202, GET): the id
    it posts under once approved, its state, the hold on the amount."""
    request = review.request
    status = {"open": "pending_review", "approved": "posted", "rejected": "rejected"}[review.status]
    body = {"id": str(review.transfer_id), "kind": "transfer", "status": status,
            "from_account_id": review.from_account_id, "to_account_id": request.get("to_account_id"),
            "amount": from_minor(review.amount, review.currency), "currency": review.currency,
            "description": request.get("description") or "", "category": request.get("category"),
            "merchant": request.get("merchant"), "reverses_transfer_id": None, "reversed_by": None,
            "created_at": rfc3339(review.created_at), "hold_id": str(review.hold_id),
            "risk": {"outcome": "review", "rules": list(review.rules)}}
    if request.get("to_iban"):
        body.update(to_iban=request["to_iban"], beneficiary_name=request.get("beneficiary_name"))
    return body


def review_json(review) -> dict:
    """A review as the admin queue shows it."""
    request = review.request
    return {"id": str(review.id), "transfer_id": str(review.transfer_id), "customer_id": review.customer_id,
            "from_account_id": review.from_account_id, "to_account_id": request.get("to_account_id"),
            "to_iban": request.get("to_iban"), "amount": from_minor(review.amount, review.currency),
            "currency": review.currency, "description": request.get("description") or "",
            "rules": list(review.rules), "status": review.status, "hold_id": str(review.hold_id),
            "decided_by": review.decided_by,
            "decided_at": rfc3339(review.decided_at) if review.decided_at else None,
            "created_at": rfc3339(review.created_at)}
