"""Body and string rules every app applies before a handler runs (API.md, "Input that is
never a 5xx").

- A body is JSON or nothing: anything else is 400 `invalid_body`, and so is JSON nested
  deeper than 32 levels (the top-level value is level 1). The depth is measured on the raw
  bytes before parsing, so `[[[[...]]]]` five thousand deep never reaches the recursive
  JSON decoder (which answers such input with a RecursionError, a 500).
- NUL and lone surrogates are refused in every body string and key and every query
  parameter (422 `validation_error` naming the field): PostgreSQL cannot store NUL in
  text, and a lone surrogate cannot be encoded as UTF-8 on the way out.
- The marshmallow fields every schema shares (`SafeText`, `WholeNumber`, `StrictRegexp`)
  are in fields.py, which imports no Flask, so the domain packages can use them.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

from flask import Flask, request

from .errors import Problem

MAX_JSON_DEPTH = 32
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Outside strings only brackets open a level; a string is skipped whole (escapes included).
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_FORBIDDEN_EVERYWHERE = re.compile("[\x00\ud800-\udfff]")


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests deeper than `limit` (top-level value = level 1)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # cannot be deeper than the number of brackets it has
    depth = 0
    for token in _JSON_TOKENS.finditer(raw):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def parse_json_body(raw: bytes) -> Any:
    """The body's JSON value, or Problem 400 `invalid_body`."""
    if json_depth_exceeds(raw):
        raise Problem(400, "invalid_body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        raise Problem(400, "invalid_body", "The body is not valid JSON.") from None


def _not_json(constant: str):
    # Python's decoder takes NaN, Infinity and -Infinity; JSON (RFC 8259) has none of them.
    raise ValueError(f"{constant} is not JSON")


def bad_strings(value: Any, path: str = "") -> Iterator[str]:
    """The paths ("a.b.0") of strings or keys holding NUL or a lone surrogate."""
    if isinstance(value, str):
        if _FORBIDDEN_EVERYWHERE.search(value):
            yield path or "_body"
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if _FORBIDDEN_EVERYWHERE.search(key):
                yield (path + "." if path else "") + _FORBIDDEN_EVERYWHERE.sub("?", key)
            else:
                yield from bad_strings(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from bad_strings(item, f"{path}.{index}" if path else str(index))


def refuse_bad_strings(fields: list[str]) -> None:
    if fields:
        raise Problem(422, "validation_error", "The request has invalid fields.",
                      errors={name: ["Contains NUL or an unpaired surrogate."] for name in fields})


def check_request() -> None:
    """before_request: the query's strings, then the body's shape and strings."""
    refuse_bad_strings([name for key, value in request.args.items(multi=True)
                        for name in bad_strings({key: value})])
    if request.method not in BODY_METHODS:
        return
    raw = request.get_data(cache=True)
    if not raw:
        return
    refuse_bad_strings(list(bad_strings(parse_json_body(raw))))


def init_input_rules(app: Flask) -> None:
    app.before_request(check_request)
