"""Events: what the ledger tells other services about a posted entry, and how it applies
the account and customer events of the accounts service (by version: account_sync.py)."""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.amounts import AmountError, check_amount_text, from_minor, to_minor
from services.common.currency import minor_units
from services.common.errors import Problem, flatten_messages
from services.common.fields import SafeText
from services.common.outbox import RejectEvent, RetryLater

from ...models import ledger_accounts
from .account_sync import AccountSnapshot, apply_account_snapshot, apply_customer_kyc
from .errors import AccountClosed, AccountNotEmpty, NotFound, OverdraftInUse
from .posting import PlannedEntry


def transfer_posted(entry: PlannedEntry, created_at: str, flags: tuple[str, ...] | list[str] = ()) -> dict:
    """`flags`: the risk rules the transfer hit and that let it post (risk/screen.py)."""
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
        "flags": list(flags),
    }


def transfer_risk(transfer_id, customer_id: str, from_account_id: str, amount: int, currency: str,
                  rules: tuple[str, ...] | list[str], **extra) -> dict:
    """transfer.flagged / transfer.review / transfer.rejected: what the rules decided."""
    return {"transfer_id": str(transfer_id), "customer_id": customer_id, "from_account_id": from_account_id,
            "amount": from_minor(amount, currency), "currency": currency, "rules": list(rules), **extra}


# --- Account and customer events from the accounts service ---------------------------

STATUSES = ("active", "frozen", "closed")
NAME = ma.validate.Length(min=1, max=100)


def _known_currency(code: str) -> None:
    if minor_units(code) is None:
        raise ma.ValidationError("Not an ISO 4217 currency with minor units.")


class AccountSnapshotSchema(ma.Schema):
    """interface 1: the account as the accounts service has it after the change."""

    account_id = SafeText(required=True, validate=NAME)
    customer_id = SafeText(required=True, validate=NAME)
    currency = ma.fields.String(required=True, validate=_known_currency)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    overdraft_limit = ma.fields.String(load_default="0", allow_none=True)
    version = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=0, max=2**62))
    number = ma.fields.String(load_default=None, allow_none=True,
                              validate=ma.validate.Regexp(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$"))
    type = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=32))

    @ma.validates_schema
    def _limit_fits_currency(self, data, **_kwargs):
        limit, currency = data.get("overdraft_limit"), data.get("currency")
        if limit is None or currency is None or minor_units(currency) is None:
            return
        try:
            limit_minor(limit, currency)
        except AmountError as error:
            raise ma.ValidationError(str(error), field_name="overdraft_limit") from None


class CustomerKycSchema(ma.Schema):
    customer_id = SafeText(required=True, validate=NAME)
    kyc_status = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[a-z_]{1,32}\Z"))
    version = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=0, max=2**62))


def load(schema: ma.Schema, data: dict, detail: str = "The event's data is invalid.") -> dict:
    """Malformed data is a 422 naming the field (for an event: its sender's bug, never applied)."""
    try:
        return schema.load(data)
    except ma.ValidationError as error:
        raise Problem(422, "validation_error", detail, errors=flatten_messages(error.messages)) from None


def limit_minor(text: str, currency: str) -> int:
    """A credit limit in minor units: the suite's amount text rule, exact in minor units
    ("0.00" JPY is 0, as the accounts service may format it; "0.5" JPY is refused)."""
    return to_minor(Decimal(check_amount_text(text)), currency)


def snapshot_from(data: dict) -> AccountSnapshot:
    currency = data["currency"].upper()
    return AccountSnapshot(data["account_id"], data["customer_id"], currency, data["status"],
                           limit_minor(data["overdraft_limit"] or "0", currency),
                           data["version"], iban=data.get("number") or None,
                           account_type=data.get("type") or None)


def _apply_event_snapshot(session: Session, snapshot: AccountSnapshot) -> None:
    try:
        apply_account_snapshot(session, snapshot)
    except AccountClosed:
        pass  # closed is terminal: a later non-closed state has nothing to change, acknowledged
    except (AccountNotEmpty, OverdraftInUse) as error:
        # Cannot apply now (the synchronous call would have been refused): not acknowledged,
        # so it is retried and, if it never applies, dead-lettered for someone to look at.
        raise RetryLater(error.detail) from None
    except NotFound as error:
        raise RejectEvent(error.detail) from None


# Enough to create the account; events written before versions existed carry no version
# (taken as 0: applied only over an account no versioned snapshot has reached).
_FULL_SNAPSHOT = ("customer_id", "currency")


def on_account_event(session: Session, data: dict, status: str | None = None, *,
                     snapshot_required: bool = False) -> None:
    """account.opened / status_changed / closed / limit_changed.

    With a full snapshot (interface 1) the event is applied by version and may create the
    account. An older event without one (no version: written before versions existed)
    changes only the status of an account the ledger knows; for an unknown account it is
    parked (RetryLater), never acknowledged and lost."""
    if not isinstance(data, dict):
        raise RejectEvent("The event's data is not an object.")
    if status is not None and "status" not in data:
        data = {**data, "status": status}
    if snapshot_required or all(name in data for name in _FULL_SNAPSHOT):
        fields = load(AccountSnapshotSchema(unknown=ma.EXCLUDE), {"status": "active", "version": 0, **data})
        _apply_event_snapshot(session, snapshot_from(fields))
        return
    partial = load(_PartialSchema(unknown=ma.EXCLUDE), data)
    row = session.execute(
        select(ledger_accounts).where(ledger_accounts.c.id == partial["account_id"]).with_for_update()
    ).first()
    if row is None:
        raise RetryLater(f"Account {partial['account_id']} is not in the ledger yet.")
    _apply_event_snapshot(session, AccountSnapshot(
        row.id, row.customer_id, row.currency.strip(), partial["status"] or row.status,
        row.overdraft_limit, row.version))


class _PartialSchema(ma.Schema):
    account_id = ma.fields.String(required=True, validate=NAME)
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))


def on_account_opened(session: Session, data: dict) -> None:
    on_account_event(session, data, snapshot_required=True)


def on_account_status_changed(session: Session, data: dict) -> None:
    on_account_event(session, data)


def on_account_closed(session: Session, data: dict) -> None:
    on_account_event(session, data, status="closed")


def on_account_limit_changed(session: Session, data: dict) -> None:
    on_account_event(session, data, snapshot_required=True)


def on_customer_kyc_changed(session: Session, data: dict) -> None:
    fields = load(CustomerKycSchema(unknown=ma.EXCLUDE), data)
    apply_customer_kyc(session, fields["customer_id"], fields["kyc_status"], fields["version"])


ACCOUNT_HANDLERS = {
    "account.opened": on_account_opened,
    "account.status_changed": on_account_status_changed,
    "account.closed": on_account_closed,
    "account.limit_changed": on_account_limit_changed,
    "customer.kyc_changed": on_customer_kyc_changed,
}
