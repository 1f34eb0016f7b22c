"""The marshmallow fields and validators every schema shares, Flask-free so that the
services' domain packages (their event schemas, say) can use them without loading Flask.

- `SafeText`: names and one-line free texts, no control characters;
- `WholeNumber`: a JSON integer (3 and 3.0), never true, "3" or 3.5;
- `StrictRegexp`, `whole_match` and `anchored`: patterns as the OpenAPI document states
  them (ECMA-262), matched by the code to the very end;
- `instance_of`: the one instance of a schema class that code on a hot path loads or dumps
  through.
"""
from __future__ import annotations

import functools
import re

import marshmallow as ma

# C0 and C1 controls and DEL; tab and newline included: names and one-line texts have none.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def anchored(pattern: re.Pattern) -> str:
    """A pattern the code uses with fullmatch, as the anchored ECMA-262 pattern OpenAPI takes."""
    return "^(?:" + pattern.pattern + ")$"


# _CONTROL as an ECMA-262 pattern, for the OpenAPI document (the surrogates are left out: a
# lone one never gets this far, check_request refuses it first).
SAFE_TEXT_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


class SafeText(ma.fields.String):
    """A name or a one-line free text: no control characters (tab and newline included)."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"pattern": SAFE_TEXT_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ma.ValidationError("Must not contain control characters.")
        return text


class WholeNumber(ma.fields.Integer):
    """A JSON integer in a body: 3 and 3.0 (JSON Schema's `integer` takes both), never true,
    "3" or 3.5. marshmallow's strict Integer refuses 3.0; its lax one takes "3"."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            value = int(value)
        return super()._validated(value)


def whole_match(pattern: str) -> re.Pattern:
    """An ECMA-262 pattern (`^...$`, as the OpenAPI document states it) compiled to match the
    whole value: Python's `$` also matches before a final newline, `\\Z` does not."""
    return re.compile(f"(?:{pattern})\\Z")


class StrictRegexp(ma.validate.Regexp):
    """marshmallow's Regexp for a pattern written as OpenAPI takes it (ECMA-262, `^...$`), so
    the document shows it as it is, but matched to the very end: Python's `$` also matches
    before a final newline, which would let "+441632960961\\n" through."""

    def __init__(self, pattern: str, error: str | None = None):
        super().__init__(pattern, error=error)
        self._whole = whole_match(pattern)

    def __call__(self, value: str) -> str:
        if self._whole.match(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


@functools.cache
def instance_of(schema: type[ma.Schema]) -> ma.Schema:
    """One instance per schema class, built on first use: building a schema copies its
    fields (a sixth of the preferences service's CPU when done per event, docs/benchmarks.md,
    issue 19), and load and dump keep no state on the instance, so threads may share it."""
    return schema()
