"""The rules a request can break, named, each with the problem document it answers."""
from __future__ import annotations

from services.common.errors import DomainError


class DocumentInvalid(DomainError):
    """The resulting document fails validation; `errors` (in the body) maps field paths to messages."""
    status, code = 422, "validation_error"
    detail = "The request has invalid fields."

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors=errors)


class VersionMismatch(DomainError):
    """If-Match named a version that is no longer current."""
    status, code = 412, "precondition_failed"
    detail = "If-Match does not name the current version; read the document again."


class WriteContention(DomainError):
    """Other writers kept winning the compare-and-set; the client may retry."""
    status, code = 409, "conflict"
    detail = "The document kept changing under this write; retry."

    def __init__(self):
        super().__init__(headers={"Retry-After": "1"})


class NotificationNotFound(DomainError):
    """No such notification for this customer (another customer's is not found either)."""
    status, code = 404, "not_found"
    detail = "No such notification."

    def __init__(self, notification_id: str):
        super().__init__()
        self.notification_id = notification_id
