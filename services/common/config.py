"""Typed configuration from environment variables.

Each service declares its settings once; a missing or malformed value stops the app at
start with a message naming the variable, instead of failing later on a request.

With FINOVA_ENV=production (set by the Dockerfiles and the Kubernetes manifests) an app also
refuses to start on a weak secret (production_secret_problems): a value published in
.env.example, the dev stack or the tests, one holding "change-me", one with fewer than 32
bytes after decoding or hardly any variety, a shared INTERNAL_TOKEN_SECRET instead of the
service's own ed25519: key. The message names the variable, never the value.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urlsplit

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
    if values.get("FINOVA_ENV") == PRODUCTION:
        problems = production_secret_problems(settings, overrides, environ)
        if problems:
            raise ConfigError("FINOVA_ENV=production: " + "; ".join(problems))
    return values


# --- production secrets -------------------------------------------------------------------
PRODUCTION = "production"
ENVIRONMENTS = ("development", "test", PRODUCTION)
MIN_SECRET_BYTES = 32
MIN_DISTINCT_BYTES = 16
# Values published in this repository (.env.example, devstack/stack.py, tests/support,
# bench/): fine on a laptop, never in production. Anything holding "change-me" is refused too.
PUBLISHED_SECRETS = frozenset({
    "change-me-internal-token-secret-at-least-32-characters",
    "change-me-jwt-signing-secret-at-least-32-characters",
    "finova-dev-internal-token-secret-change-me-in-production",
    "finova-dev-access-token-signing-key-change-me",
    "Zmlub3ZhLWRldi1waWkta2V5LWNoYW5nZS1tZS0xMjM=",
    "test-internal-token-secret-with-enough-length",
    "test-jwt-signing-key-that-is-long-enough-0001",
    "gateway-test-signing-key-number-two-0123456789",
    "gateway-test-signing-key-number-one-012345678",
    "bench-internal-token-secret-long-enough-000",
    "bench-jwt-signing-key-that-is-long-enough-01",
    "Vault-Keeper-Dev-2026",
})
_PLACEHOLDER = re.compile(r"change[-_ ]?me|changeme|example|placeholder", re.IGNORECASE)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
# Settings holding a URL whose password is checked like a secret.
URL_SETTINGS = ("DATABASE_URL", "READ_DATABASE_URL", "MONGO_URL", "REDIS_URL")


def as_environment(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ENVIRONMENTS:
        raise ValueError(f"expected one of {', '.join(ENVIRONMENTS)}")
    return value


def secret_bytes(secret: str) -> bytes:
    """The secret as the bytes it stands for: hex and base64 are decoded (the shortest reading
    wins, so an encoding never counts as strength), anything else is its UTF-8."""
    readings = [secret.encode()]
    if _HEX.match(secret):
        readings.append(bytes.fromhex(secret))
    if len(secret) >= 16 and _BASE64.match(secret):
        try:
            readings.append(base64.urlsafe_b64decode(secret.replace("+", "-").replace("/", "_").rstrip("=")
                                                     + "=" * (-len(secret.rstrip("=")) % 4)))
        except (binascii.Error, ValueError):
            pass
    return min(readings, key=len)


def weak_secret(secret: str) -> str | None:
    """Why this secret must not be used in production, or None."""
    if secret in PUBLISHED_SECRETS or _PLACEHOLDER.search(secret):
        return "is a published development or example value"
    raw = secret_bytes(secret)
    if raw.decode("utf-8", "replace") in PUBLISHED_SECRETS or _PLACEHOLDER.search(raw.decode("latin-1")):
        return "is a published development or example value"
    if len(raw) < MIN_SECRET_BYTES:
        return f"has fewer than {MIN_SECRET_BYTES} bytes of key material"
    if len(set(raw)) < MIN_DISTINCT_BYTES or _periodic(raw):
        return "is too repetitive to be random"
    return None


def _periodic(raw: bytes) -> bool:
    for period in range(1, len(raw) // 2 + 1):
        if len(raw) % period == 0 and raw[:period] * (len(raw) // period) == raw:
            return True
    return False


def _secret_parts(name: str, value: str) -> list[str]:
    """The secrets inside one setting's value: "kid:secret,kid:secret" lists, a URL's password."""
    if "://" in value:
        password = urlsplit(value).password
        return [unquote(password)] if password else []
    parts = []
    for item in value.split(","):
        kid, sep, secret = item.strip().partition(":")
        parts.append(secret if sep else kid)
    return [part for part in parts if part != ""] or [value]


def production_secret_problems(settings: list[Setting], overrides: Mapping[str, Any],
                               environ: Mapping[str, str]) -> list[str]:
    """One message per weak secret setting (the variable's name, never its value)."""
    from .service_auth import (SERVICES, development_signing_key, development_trusted_keys, is_signing_key,
                               signing_key_seed)

    development_keys = {development_signing_key(name) for name in SERVICES}
    problems = []
    trusted = overrides.get("INTERNAL_TRUSTED_KEYS", environ.get("INTERNAL_TRUSTED_KEYS"))
    if isinstance(trusted, str) and any(key in trusted for keys in development_trusted_keys().values()
                                        for key in keys):
        problems.append("INTERNAL_TRUSTED_KEYS trusts a published development key")
    for setting in settings:
        if not (setting.secret or setting.name in URL_SETTINGS):
            continue
        value = overrides.get(setting.name, environ.get(setting.name))
        if not isinstance(value, str) or value == "":
            continue
        if setting.name == "INTERNAL_TOKEN_SECRET":
            if not is_signing_key(value):
                problems.append("INTERNAL_TOKEN_SECRET must be this service's own ed25519: key, not a shared "
                                "secret (python -m services.common.service_auth keygen)")
                continue
            if value in development_keys:
                problems.append("INTERNAL_TOKEN_SECRET is a published development key")
                continue
            seed = signing_key_seed(value)
            if len(set(seed)) < MIN_DISTINCT_BYTES or _periodic(seed):
                problems.append("INTERNAL_TOKEN_SECRET is too repetitive to be random")
            continue
        for part in _secret_parts(setting.name, value):
            reason = weak_secret(part)
            if reason:
                problems.append(f"{setting.name} {reason}")
                break
    return problems


def _parse_signing_secret(raw: str) -> str:
    from .service_auth import parse_signing_secret
    return parse_signing_secret(raw)


def _parse_trusted_keys(raw: str) -> dict:
    from .service_auth import parse_trusted_keys
    return parse_trusted_keys(raw)


# Settings every service and the gateway share.
COMMON_SETTINGS = [
    Setting("LOG_LEVEL", str, "INFO"),
    # development (default) or production: production refuses weak secrets at start.
    Setting("FINOVA_ENV", as_environment, "development"),
    # This app's signing secret for internal tokens: its own ed25519: key, or (development,
    # tests) a shared secret of 32+ characters. See services/common/service_auth.py.
    Setting("INTERNAL_TOKEN_SECRET", _parse_signing_secret, secret=True),
    # The public keys of the issuers this app accepts: "gateway:<key>,accounts:<key>,...".
    # Unset outside production: the published development keys (service_auth.trusted_keys_for).
    Setting("INTERNAL_TRUSTED_KEYS", _parse_trusted_keys, None),
    Setting("INTERNAL_TOKEN_TTL_SECONDS", as_positive_int, 60),
    Setting("MAX_CONTENT_LENGTH", as_positive_int, 1_048_576),
    Setting("ACCESS_LOG", as_bool, True),
]
