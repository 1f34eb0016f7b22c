"""Named errors for each broken rule; each is a problem document the API answers with."""
from services.common.problems import Problem


class WeakPassword(Problem):
    def __init__(self, rule: str, requirement: str):
        super().__init__(422, "weak_password", f"The password breaks the {rule} rule: {requirement}.",
                         rule=rule, errors={"password": [f"{rule}: {requirement}"]})


class EmailTaken(Problem):
    def __init__(self):
        super().__init__(409, "email_taken", "A customer with this email already exists.")


class InvalidCredentials(Problem):
    def __init__(self):
        super().__init__(401, "invalid_credentials", "The email or password is wrong.")


class LoginThrottled(Problem):
    def __init__(self, retry_after: int, locked: bool):
        code = "login_locked" if locked else "login_throttled"
        detail = ("Too many failed logins from this address: it is locked out of this email for a while."
                  if locked else "Too many failed logins: wait before trying again.")
        super().__init__(429, code, detail, headers={"Retry-After": str(retry_after)},
                         retry_after=retry_after)


class InvalidRefreshToken(Problem):
    def __init__(self, reason: str = "invalid"):
        super().__init__(401, "invalid_refresh_token", f"The refresh token is {reason}.")


class NotFound(Problem):
    def __init__(self, what: str = "account"):
        super().__init__(404, "not_found", f"No such {what}.")


class AccountClosed(Problem):
    def __init__(self):
        super().__init__(409, "account_closed", "The account is closed.")


class AccountFrozen(Problem):
    def __init__(self):
        super().__init__(409, "account_frozen", "The account is frozen.")


class StaleVersion(Problem):
    def __init__(self, etag: str):
        super().__init__(412, "precondition_failed", "The account changed since you read it.",
                         headers={"ETag": etag})


class LedgerUnavailable(Problem):
    def __init__(self, detail: str = "The ledger cannot tell the balance right now."):
        super().__init__(503, "service_unavailable", detail, headers={"Retry-After": "1"}, service="transactions")


class KycRequired(Problem):
    def __init__(self, detail: str, status: int = 403):
        super().__init__(status, "kyc_required", detail)


class AccountLimitReached(Problem):
    def __init__(self, limit: int):
        super().__init__(409, "account_limit_reached", f"A customer may have at most {limit} open accounts.",
                         limit=limit)


class RefreshTokenReused(InvalidRefreshToken):
    """A spent token came back: its whole family is revoked (the caller commits that)."""

    def __init__(self):
        super().__init__("already used; every token of its family is now revoked")
