"""Named errors for each broken rule; each is a problem document the API answers with."""
from services.common.errors import DomainError


class WeakPassword(DomainError):
    status, code = 422, "weak_password"

    def __init__(self, rule: str, requirement: str):
        super().__init__(f"The password breaks the {rule} rule: {requirement}.",
                         rule=rule, errors={"password": [f"{rule}: {requirement}"]})


class EmailTaken(DomainError):
    status, code = 409, "email_taken"
    detail = "A customer with this email already exists."


class InvalidCredentials(DomainError):
    status, code = 401, "invalid_credentials"
    detail = "The email or password is wrong."


class LoginThrottled(DomainError):
    status, code = 429, "login_throttled"
    detail = "Too many failed logins: wait before trying again."

    def __init__(self, retry_after: int):
        super().__init__(headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


class LoginLocked(LoginThrottled):
    """Too many failures from one address for one email: that pair is locked for a while."""
    code = "login_locked"
    detail = "Too many failed logins from this address: it is locked out of this email for a while."


class InvalidRefreshToken(DomainError):
    status, code = 401, "invalid_refresh_token"

    def __init__(self, reason: str = "invalid"):
        super().__init__(f"The refresh token is {reason}.")


class NotFound(DomainError):
    status, code = 404, "not_found"

    def __init__(self, what: str = "account"):
        super().__init__(f"No such {what}.")


class AccountClosed(DomainError):
    status, code = 409, "account_closed"
    detail = "The account is closed."


class AccountFrozen(DomainError):
    status, code = 409, "account_frozen"
    detail = "The account is frozen."


class StaleVersion(DomainError):
    status, code = 412, "precondition_failed"
    detail = "The account changed since you read it."

    def __init__(self, etag: str):
        super().__init__(headers={"ETag": etag})


class LedgerUnavailable(DomainError):
    status, code = 503, "service_unavailable"
    detail = "The ledger cannot tell the balance right now."

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"Retry-After": "1"}, service="transactions")


class KycRequired(DomainError):
    """An account type that needs a verified customer: forbidden until KYC."""
    status, code = 403, "kyc_required"


class CreditNeedsKyc(KycRequired):
    """A credit line on an account whose customer is not verified: the state refuses it."""
    status = 409


class AccountLimitReached(DomainError):
    status, code = 409, "account_limit_reached"

    def __init__(self, limit: int):
        super().__init__(f"A customer may have at most {limit} open accounts.", limit=limit)


class RefreshTokenReused(InvalidRefreshToken):
    """A spent token came back: its whole family is revoked (the caller commits that)."""

    def __init__(self):
        super().__init__("already used; every token of its family is now revoked")
