"""Typed configuration from environment variables.

Each service declares its settings once; a missing or malformed value stops the app at
start with a message naming the variable, instead of failing later on a request.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

_MISSING = object()


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any] = str
    default: Any = _MISSING
    secret: bool = False


def as_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def as_port(raw: str) -> int:
    port = int(raw)
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {port}")
    return port


def as_positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError(f"must be positive, got {raw}")
    return value


def as_positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"must be positive, got {raw}")
    return value


def as_secret(raw: str) -> str:
    # HS256 keys shorter than the hash are brute-forceable; refuse them at start.
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters")
    return raw


def as_url(raw: str) -> str:
    if "://" not in raw:
        raise ValueError(f"not a URL: {raw!r}")
    return raw.rstrip("/")


def load_settings(
    settings: list[Setting],
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Read each setting from overrides, then the environment, then its default."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict[str, Any] = {}
    for setting in settings:
        if setting.name in overrides:
            values[setting.name] = overrides[setting.name]
            continue
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            if setting.default is _MISSING:
                raise ConfigError(f"{setting.name} is not set")
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except (ValueError, TypeError) as exc:
            shown = "<hidden>" if setting.secret else repr(raw)
            raise ConfigError(f"{setting.name} is malformed ({shown}): {exc}") from None
    # Overrides that are not declared settings (test switches, Flask keys) pass through.
    for key, value in overrides.items():
        values.setdefault(key, value)
    return values


# Settings every service and the gateway share.
COMMON_SETTINGS = [
    Setting("LOG_LEVEL", str, "INFO"),
    Setting("INTERNAL_TOKEN_SECRET", as_secret, secret=True),
    Setting("INTERNAL_TOKEN_TTL_SECONDS", as_positive_int, 60),
    Setting("MAX_CONTENT_LENGTH", as_positive_int, 1_048_576),
    Setting("ACCESS_LOG", as_bool, True),
]
