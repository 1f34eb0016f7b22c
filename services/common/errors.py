"""Domain errors: each broken rule a named exception that knows its problem document (RFC 9457).

Flask-free, so a service's domain package can raise them without the web layer; the one
handler in problems.py answers any of them as application/problem+json. A subclass states
its HTTP `status` and stable snake_case `code` on the class (clients branch on the code;
title and detail are for people) and may pass a detail, headers and extra body members:

    class AccountFrozen(DomainError):
        status, code = 409, "account_frozen"

    raise AccountFrozen("The account is frozen.", account_id=account.id)

`Problem` is the ad-hoc form, for a refusal that needs no name of its own.
"""
from __future__ import annotations

from typing import Any, Mapping

DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def problem_body(status: int, code: str | None = None, detail: str | None = None,
                 title: str | None = None, **extra: Any) -> dict[str, Any]:
    """The problem document as a dict: what the response carries and an Idempotency-Key stores."""
    code = code or DEFAULT_CODES.get(status, "error")
    return {
        "type": f"https://errors.finovabank.example/{code}",
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail or "",
        "code": code,
        **extra,
    }


class DomainError(Exception):
    """A rule the request broke; subclasses set `status` and `code`, and `detail` when it
    never varies."""

    status: int = 500
    code: str = "internal_error"
    title: str | None = None
    detail: str | None = None

    def __init__(self, detail: str | None = None, *, headers: Mapping[str, str] | None = None,
                 **extra: Any):
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail or self.code)
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return problem_body(self.status, self.code, self.detail, self.title, **self.extra)


class Problem(DomainError):
    """Raise anywhere below a handler to answer with this problem document."""

    def __init__(self, status: int, code: str | None = None, detail: str | None = None,
                 title: str | None = None, headers: Mapping[str, str] | None = None, **extra: Any):
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "error")
        self.title = title
        super().__init__(detail, headers=headers, **extra)


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into a problem's `errors`: {"field.sub": ["message", ...]}."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, name))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": messages}
    return {prefix or "_schema": [str(messages)]}
