"""Customers' category-rule patterns: RE2 (google-re2), so matching is linear in the text
whatever the pattern (no backtracking: `(a+)+$` answers at once), with a bounded program
size, compiled once per pattern and cached."""
from __future__ import annotations

from functools import lru_cache

import re2

MAX_PATTERN = 256
_MAX_MEM = 1 << 20   # a pattern whose program needs more than 1 MiB is refused


class PatternError(ValueError):
    pass


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = _MAX_MEM
    options.log_errors = False
    return options


@lru_cache(maxsize=4096)
def compiled(pattern: str):
    if not isinstance(pattern, str) or not 1 <= len(pattern) <= MAX_PATTERN:
        raise PatternError(f"A pattern is 1 to {MAX_PATTERN} characters.")
    if "\x00" in pattern:
        raise PatternError("A pattern holds no NUL character.")
    try:
        return re2.compile(pattern, _options())
    except re2.error as error:
        message = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise PatternError(f"Not a valid RE2 pattern: {message}.") from None


def check_pattern(pattern: str | None) -> str | None:
    if pattern is not None:
        compiled(pattern)
    return pattern


def matches(pattern: str | None, value: str | None) -> bool:
    """A rule's pattern matches anywhere in the value (None: the rule does not test it)."""
    if pattern is None:
        return True
    return compiled(pattern).search(value or "") is not None
