"""Pure functions: merge patch, input guard, validators, quiet hours, alert rules."""
from datetime import datetime, timezone
from decimal import Decimal

import marshmallow as ma
import pytest

from services.preferences import validators
from services.preferences.defaults import DEFAULT_NOTIFICATION_SETTINGS
from services.preferences.domain.alerts import alerts_for_transfer, quiet_until
from services.preferences.input_guard import json_nesting_depth, unsafe_keys
from services.preferences.merge_patch import apply_merge_patch, fill_defaults

# RFC 7396, Appendix A.
RFC_7396_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target, patch, result", RFC_7396_EXAMPLES)
def test_merge_patch_follows_rfc_7396(target, patch, result):
    snapshot = repr(target)
    assert apply_merge_patch(target, patch) == result
    assert repr(target) == snapshot  # the target is not modified


def test_fill_defaults_fills_nested_members_only_where_missing():
    filled = fill_defaults({"events": {"low_balance": {"threshold": "5"}}},
                           DEFAULT_NOTIFICATION_SETTINGS)
    assert filled["events"]["low_balance"] == {"enabled": True, "threshold": "5",
                                               "channels": ["push", "email"]}
    assert filled["quiet_hours"] == DEFAULT_NOTIFICATION_SETTINGS["quiet_hours"]


def test_unsafe_keys_are_found_at_any_depth():
    body = {"ok": [{"$in": 1}, {"x": {"a.b": 2}}], "$set": {}, "fine": "$value"}
    assert sorted(unsafe_keys(body)) == ["$set", "ok/0/$in", "ok/1/x/a.b"]


@pytest.mark.parametrize("raw, depth", [
    (b'{}', 1), (b'[[1], {"a": [2]}]', 3), (b'"[[[["', 0),
    (b'{"a": "\\"[[[", "b": [1]}', 2), (b'17', 0),
])
def test_nesting_depth_ignores_brackets_inside_strings(raw, depth):
    assert json_nesting_depth(raw) == depth


def test_validators_normalise_or_refuse():
    assert validators.language_tag("zh-hant-tw") == "zh-Hant-TW"
    for bad in ("und", "x-private", "i-klingon", "en_US", "zz"):
        with pytest.raises(ma.ValidationError):
            validators.language_tag(bad)
    assert validators.timezone_name("America/Sao_Paulo") == "America/Sao_Paulo"
    for bad in ("localtime", "Europe/paris", "/etc/localtime"):
        with pytest.raises(ma.ValidationError):
            validators.timezone_name(bad)
    assert validators.currency_code("BHD") == "BHD"
    for bad in ("XAU", "EURO", "usd"):
        with pytest.raises(ma.ValidationError):
            validators.currency_code(bad)
    assert validators.signed_amount("-12.50") == Decimal("-12.50")


QUIET = {"enabled": True, "start": "22:00", "end": "07:00", "timezone": "America/New_York"}


@pytest.mark.parametrize("utc, until", [
    (datetime(2026, 7, 1, 3, 0), datetime(2026, 7, 1, 11, 0)),   # 23:00 EDT -> 07:00 EDT
    (datetime(2026, 7, 1, 10, 59), datetime(2026, 7, 1, 11, 0)),  # 06:59 EDT
    (datetime(2026, 7, 1, 11, 0), None),                          # 07:00: window over
    (datetime(2026, 7, 1, 16, 0), None),                          # noon
    (datetime(2026, 12, 1, 3, 0), datetime(2026, 12, 1, 12, 0)),  # EST in winter
])
def test_quiet_until_wraps_midnight_in_the_customers_zone(utc, until):
    now = utc.replace(tzinfo=timezone.utc)
    assert quiet_until(now, QUIET) == (until and until.replace(tzinfo=timezone.utc))


def test_quiet_hours_within_one_day_and_disabled():
    day = {**QUIET, "start": "09:00", "end": "17:00", "timezone": "UTC"}
    now = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)
    assert quiet_until(now, day) == datetime(2026, 7, 1, 17, 0, tzinfo=timezone.utc)
    assert quiet_until(now, {**day, "enabled": False}) is None


def _posting(amount, after, customer="c1"):
    return {"account_id": "a1", "customer_id": customer, "amount": Decimal(amount),
            "currency": "EUR", "balance_after": Decimal(after)}


@pytest.mark.parametrize("amount, after, kinds", [
    ("-30", "80", ["low_balance"]),          # 110 -> 80 crosses 100
    ("-5", "75", []),                        # 80 -> 75: was already under
    ("-10", "100", []),                      # lands on the threshold: not below
    ("50", "60", []),                        # a credit never crosses downwards
    ("-1000.01", "5000", ["large_transaction"]),
    ("-1000.00", "5000", []),                # exactly the threshold is not over it
    ("1000.01", "5000", ["large_transaction"]),  # incoming money counts as large too
])
def test_alert_rules(amount, after, kinds):
    transfer = {"transfer_id": "t", "flags": [], "postings": [_posting(amount, after)]}
    raised = alerts_for_transfer(transfer, lambda _c: DEFAULT_NOTIFICATION_SETTINGS)
    assert [a["kind"] for a in raised] == kinds
