"""A named exception for each broken ledger rule; `code` is the API's stable problem code."""


class LedgerError(Exception):
    code = "ledger_error"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(LedgerError):
    code = "not_found"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"


class AccountFrozen(LedgerError):
    code = "account_frozen"


class AccountClosed(LedgerError):
    code = "account_closed"


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"


class SameAccount(LedgerError):
    code = "same_account"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


class NotReversible(LedgerError):
    code = "not_reversible"


class Forbidden(LedgerError):
    code = "forbidden"


class IdempotencyKeyReused(LedgerError):
    code = "idempotency_key_reused"


class ReversalNotAllowed(LedgerError):
    code = "reversal_not_allowed"


class KycRequired(LedgerError):
    code = "kyc_required"


class AccountNotEmpty(LedgerError):
    code = "account_not_empty"


class OverdraftInUse(LedgerError):
    """A lower credit limit than the account already uses (the balance is below minus it)."""
    code = "overdraft_in_use"


class FxRateChanged(LedgerError):
    """The client's expected_fx_rate is not the rate in force (the answer carries fx_rate)."""
    code = "fx_rate_changed"


class FxRateUnavailable(LedgerError):
    code = "fx_rate_unavailable"


class HoldNotActive(LedgerError):
    """A capture or release of a hold already captured, released or expired."""
    code = "hold_not_active"


class InvalidState(LedgerError):
    code = "invalid_state"


class CaptureTooLarge(LedgerError):
    """A capture above the held amount: a validation error by the contract (not stored)."""
    code = "validation_error"


class InvalidInput(LedgerError):
    """A request the schema let through that the domain refuses as invalid (a schedule
    without a run date, say); `errors` names the field, like the schema's answers."""
    code = "validation_error"


class InsufficientPoints(LedgerError):
    """Redeeming more reward points than the customer has."""
    code = "insufficient_points"


class BillAlreadyPaid(LedgerError):
    code = "bill_already_paid"


class BudgetExists(LedgerError):
    """A second budget for one customer, month and category."""
    code = "budget_exists"


# The HTTP status each rule answers with (the API layer's only mapping).
STATUS = {
    NotFound: 404,
    BudgetExists: 409,
    InsufficientFunds: 422,
    AccountFrozen: 409,
    AccountClosed: 409,
    CurrencyMismatch: 422,
    SameAccount: 422,
    AlreadyReversed: 409,
    NotReversible: 409,
    IdempotencyKeyReused: 422,
    Forbidden: 403,
    ReversalNotAllowed: 403,
    KycRequired: 403,
    AccountNotEmpty: 409,
    OverdraftInUse: 409,
    FxRateChanged: 409,
    FxRateUnavailable: 422,
    HoldNotActive: 409,
    InvalidState: 409,
    CaptureTooLarge: 422,
    InvalidInput: 422,
    InsufficientPoints: 422,
    BillAlreadyPaid: 409,
}

# Refusals for a business reason are stored under the Idempotency-Key and replayed for its
# lifetime (API.md "Idempotency, completed"). These are not, so the client may resend under
# the same key: a key reused with another body, and 404 (an account the ledger does not
# know yet may still arrive by its event). Validation and auth errors never reach the key.
NOT_STORED = (IdempotencyKeyReused, NotFound, CaptureTooLarge, InvalidInput)


def stored_refusal(error: LedgerError) -> bool:
    return not isinstance(error, NOT_STORED)
