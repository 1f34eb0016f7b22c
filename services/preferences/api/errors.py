"""Problem documents for the domain's named errors."""
from __future__ import annotations

from flask import Flask

from services.common.problems import problem_response

from ..domain.errors import DocumentInvalid, NotificationNotFound, VersionMismatch, WriteContention


def init_error_handlers(app: Flask) -> None:
    app.register_error_handler(DocumentInvalid, lambda e: problem_response(
        422, "validation_error", "The request has invalid fields.", errors=e.errors))
    app.register_error_handler(VersionMismatch, lambda _e: problem_response(
        412, "precondition_failed", "If-Match does not name the current version; "
                                    "read the document again."))
    app.register_error_handler(WriteContention, lambda _e: problem_response(
        409, "conflict", "The document kept changing under this write; retry.",
        headers={"Retry-After": "1"}))
    app.register_error_handler(NotificationNotFound, lambda _e: problem_response(
        404, "not_found", "No such notification."))
