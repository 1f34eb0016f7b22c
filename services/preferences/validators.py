"""Checks for the reference values a customer may choose: BCP 47, IANA, ISO 4217, amounts."""
from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal
from functools import lru_cache

import langcodes
from marshmallow import ValidationError

from services.common.currency import is_currency_code
from services.common.fields import whole_match

# langcodes also accepts `en_US` and grandfathered `i-` tags; BCP 47 as clients send it does not.
LANGUAGE_PATTERN = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,6}$"
_LANGUAGE_SHAPE = whole_match(LANGUAGE_PATTERN)
# [0-9], not \d, which also matches other scripts' digits ("١٢").
THRESHOLD_PATTERN = "^[0-9]{1,15}(\\.[0-9]{1,4})?$"
_THRESHOLD = whole_match(THRESHOLD_PATTERN)
_SIGNED_AMOUNT = re.compile(r"^-?[0-9]{1,18}(\.[0-9]{1,8})?\Z")
_NOT_ZONES = {"localtime", "posixrules", "Factory"}


@lru_cache(maxsize=1)
def iana_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


# For the OpenAPI document: the zones timezone_name() takes, listed.
TIMEZONE_DOC = {"description": "IANA time zone", "enum": sorted(iana_timezones())}


def language_tag(value: str) -> str:
    """A registered BCP 47 tag in its standard form (`EN-us` -> `en-US`)."""
    if not _LANGUAGE_SHAPE.match(value) or not langcodes.tag_is_valid(value) \
            or value.lower() == "und":
        raise ValidationError(f"Not a known BCP 47 language tag: {value!r}.")
    return langcodes.standardize_tag(value)


def timezone_name(value: str) -> str:
    if value not in iana_timezones():
        raise ValidationError(f"Not an IANA time zone: {value!r}.")
    return value


def currency_code(value: str) -> str:
    if not is_currency_code(value):
        raise ValidationError(f"Not an ISO 4217 currency code: {value!r}.")
    return value


def threshold_amount(value: str) -> str:
    """A non-negative decimal string (up to 4 decimals: the most ISO 4217 has)."""
    if not _THRESHOLD.match(value):
        raise ValidationError("Must be a non-negative decimal string such as \"100.00\".")
    return value


def signed_amount(value: str) -> Decimal:
    """A signed decimal string from another service (never a float)."""
    if not _SIGNED_AMOUNT.match(value):
        raise ValidationError("Must be a signed decimal string.")
    return Decimal(value)
