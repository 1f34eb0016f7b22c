"""The rules a request can break, named; the API layer turns them into problem documents."""
from __future__ import annotations


class DocumentInvalid(Exception):
    """The resulting document fails validation; `errors` maps field paths to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid document")
        self.errors = errors


class VersionMismatch(Exception):
    """If-Match named a version that is no longer current."""


class WriteContention(Exception):
    """Other writers kept winning the compare-and-set; the client may retry."""


class NotificationNotFound(Exception):
    """No such notification for this customer (another customer's is not found either)."""
