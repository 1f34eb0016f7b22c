"""Limits on what a customer may send: no operator-like keys, storable text, bounded size and depth.

Documents are stored as sent (after validation), so a key such as `$where` or `a.b` must
never reach MongoDB, where it would read as an operator or a path. The checks run on the
raw JSON before any schema sees it.
"""
from __future__ import annotations

import re
from typing import Any

MAX_BODY_BYTES = 16 * 1024
MAX_DEPTH = 6


def unsafe_keys(value: Any, path: str = "") -> list[str]:
    """Paths of every key, at any depth, that starts with `$` or contains a dot."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}/{key}" if path else str(key)
            if not isinstance(key, str) or key.startswith("$") or "." in key:
                found.append(where)
            found.extend(unsafe_keys(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(unsafe_keys(item, f"{path}/{index}" if path else str(index)))
    return found


# Lone surrogates (JSON can carry "\ud800") cannot be encoded for MongoDB at all, and no
# field here has a use for control characters.
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def unstorable_text(value: Any, path: str = "") -> list[str]:
    """Paths (dotted, like other field errors) of strings that cannot be stored as text."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _UNSTORABLE.search(key):
                found.append(where)
            found.extend(unstorable_text(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(unstorable_text(item, f"{path}.{index}" if path else str(index)))
    elif isinstance(value, str) and _UNSTORABLE.search(value):
        found.append(path or "_schema")
    return found


def json_nesting_depth(raw: bytes) -> int:
    """Deepest nesting of objects and arrays in raw JSON, found without parsing it.

    Parsing first would let a body of ten thousand `[` exhaust the parser's recursion.
    """
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return deepest
