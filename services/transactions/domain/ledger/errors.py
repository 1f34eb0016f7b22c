"""A named exception for each broken ledger rule, with its HTTP status and stable problem code."""
from services.common.errors import DomainError


class LedgerError(DomainError):
    """A rule of the ledger's money writes: what an Idempotency-Key may store (stored_refusal)."""


class NotFound(LedgerError):
    status, code = 404, "not_found"


class InsufficientFunds(LedgerError):
    status, code = 422, "insufficient_funds"


class AccountFrozen(LedgerError):
    status, code = 409, "account_frozen"


class AccountClosed(LedgerError):
    status, code = 409, "account_closed"


class CurrencyMismatch(LedgerError):
    status, code = 422, "currency_mismatch"


class SameAccount(LedgerError):
    status, code = 422, "same_account"


class AlreadyReversed(LedgerError):
    status, code = 409, "already_reversed"


class NotReversible(LedgerError):
    status, code = 409, "not_reversible"


class Forbidden(LedgerError):
    status, code = 403, "forbidden"


class IdempotencyKeyReused(LedgerError):
    status, code = 422, "idempotency_key_reused"


class ReversalNotAllowed(LedgerError):
    status, code = 403, "reversal_not_allowed"


class KycRequired(LedgerError):
    status, code = 403, "kyc_required"


class AccountNotEmpty(LedgerError):
    status, code = 409, "account_not_empty"


class OverdraftInUse(LedgerError):
    """A lower credit limit than the account already uses (the balance is below minus it)."""
    status, code = 409, "overdraft_in_use"


class FxRateChanged(LedgerError):
    """The client's expected_fx_rate is not the rate in force (the answer carries fx_rate)."""
    status, code = 409, "fx_rate_changed"


class FxRateUnavailable(LedgerError):
    status, code = 422, "fx_rate_unavailable"


class HoldNotActive(LedgerError):
    """A capture or release of a hold already captured, released or expired."""
    status, code = 409, "hold_not_active"


class InvalidState(LedgerError):
    status, code = 409, "invalid_state"


class CaptureTooLarge(LedgerError):
    """A capture above the held amount: a validation error by the contract (not stored)."""
    status, code = 422, "validation_error"


class InvalidInput(LedgerError):
    """A request the schema let through that the domain refuses as invalid (a schedule
    without a run date, say); `errors` names the field, like the schema's answers."""
    status, code = 422, "validation_error"


class InsufficientPoints(LedgerError):
    """Redeeming more reward points than the customer has."""
    status, code = 422, "insufficient_points"


class BillAlreadyPaid(LedgerError):
    status, code = 409, "bill_already_paid"


class BudgetExists(LedgerError):
    """A second budget for one customer, month and category."""
    status, code = 409, "budget_exists"


# Refusals for a business reason are stored under the Idempotency-Key and replayed for its
# lifetime (API.md "Idempotency, completed"). These are not, so the client may resend under
# the same key: a key reused with another body, and 404 (an account the ledger does not
# know yet may still arrive by its event). Validation and auth errors never reach the key.
NOT_STORED = (IdempotencyKeyReused, NotFound, CaptureTooLarge, InvalidInput)


def stored_refusal(error: LedgerError) -> bool:
    return not isinstance(error, NOT_STORED)
