"""JSON merge patch (RFC 7396) and filling a document's missing members from its defaults."""
from __future__ import annotations

import copy
from typing import Any, Mapping


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """The result of applying `patch` to `target`; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def fill_defaults(document: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """`document` with every member it lacks (at any object depth) taken from `defaults`."""
    result = copy.deepcopy(dict(document))
    for key, default in defaults.items():
        if key not in result:
            result[key] = copy.deepcopy(default)
        elif isinstance(default, dict) and isinstance(result[key], dict):
            result[key] = fill_defaults(result[key], default)
    return result
