"""Marshmallow schemas: the API's documents as customers send and read them, and event data."""
from __future__ import annotations

import copy
import functools
from typing import Any, Callable

import marshmallow as ma
from marshmallow import fields, validate

from services.common.currency import CURRENCY_CODES
from services.common.fields import StrictRegexp

from . import validators
from .input_guard import unsafe_keys, unstorable_text

THEMES = ("light", "dark", "system")
DATE_FORMATS = ("YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY")
WIDGETS = ("accounts", "recent_transactions", "notifications", "budgets",
           "spending_by_category", "exchange_rates", "scheduled_transfers")
CHANNELS = ("email", "sms", "push")
_HH_MM = StrictRegexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Must be a time as HH:MM.")


class Checked(fields.String):
    """A string passed through a check that may also normalise it."""

    def __init__(self, check: Callable[[str], Any], **kwargs):
        self.check = check
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return self.check(super()._deserialize(value, attr, data, **kwargs))


def _unique(values: list) -> None:
    if len(set(values)) != len(values):
        raise ma.ValidationError("Items must be unique.")


class GuardedSchema(ma.Schema):
    """A root schema for customer input: operator-like keys and unstorable text are refused."""

    @ma.pre_load
    def refuse_unsafe_input(self, data, **_kwargs):
        errors = {path: ["Keys may not start with '$' or contain '.'."]
                  for path in unsafe_keys(data)}
        for path in unstorable_text(data):
            errors.setdefault(path, []).append(
                "Text may not hold control characters or unpaired surrogates.")
        if errors:
            raise ma.ValidationError(errors)
        return data


class MergePatchSchema(GuardedSchema):
    """A JSON merge patch (RFC 7396): members to change; null resets one to its default."""

    class Meta:
        unknown = ma.INCLUDE


class PreferencesSchema(GuardedSchema):
    language = Checked(validators.language_tag, metadata={"description": "BCP 47 tag",
                                                            "pattern": validators.LANGUAGE_PATTERN})
    timezone = Checked(validators.timezone_name, metadata=validators.TIMEZONE_DOC)
    display_currency = Checked(validators.currency_code, metadata={"description": "ISO 4217",
                                                                   "enum": CURRENCY_CODES})
    theme = fields.String(validate=validate.OneOf(THEMES))
    date_format = fields.String(validate=validate.OneOf(DATE_FORMATS))
    dashboard_widgets = fields.List(fields.String(validate=validate.OneOf(WIDGETS)),
                                    validate=[validate.Length(max=len(WIDGETS)), _unique],
                                    metadata={"uniqueItems": True})


def _channel(name: str, address_pattern: str, example: str) -> type[ma.Schema]:
    return ma.Schema.from_dict({
        "address": fields.String(allow_none=True, validate=[
            validate.Length(max=254),
            StrictRegexp(address_pattern, error=f"Must look like {example}.")]),
        "verified": fields.Boolean(metadata={
            "description": "Set by address verification; ignored on input, reset when the "
                           "address changes."}),
    }, name=name)


class ChannelsSchema(ma.Schema):
    email = fields.Nested(_channel("EmailChannel", r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                   "name@example.com"))
    sms = fields.Nested(_channel("SmsChannel", r"^\+[1-9][0-9]{6,14}$", "+4915112345678 (E.164)"))
    push = fields.Nested(_channel("PushChannel", r"^[A-Za-z0-9:_\-]{8,254}$", "a device token"))


_CHANNEL_LIST = fields.List(fields.String(validate=validate.OneOf(CHANNELS)),
                            validate=[validate.Length(max=len(CHANNELS)), _unique],
                            metadata={"uniqueItems": True})


class RuleSchema(ma.Schema):
    enabled = fields.Boolean()
    channels = _CHANNEL_LIST


class ThresholdRuleSchema(RuleSchema):
    threshold = Checked(validators.threshold_amount, metadata={
        "pattern": validators.THRESHOLD_PATTERN,
        "description": "Decimal string, compared with each posting in that posting's own "
                       "currency (no conversion)."})


class EventRulesSchema(ma.Schema):
    low_balance = fields.Nested(ThresholdRuleSchema, metadata={
        "description": "When a debit takes an account's balance from at or above the "
                       "threshold to below it."})
    large_transaction = fields.Nested(ThresholdRuleSchema, metadata={
        "description": "When the absolute amount of a posting is over the threshold."})
    suspicious_activity = fields.Nested(RuleSchema)
    budget_exceeded = fields.Nested(RuleSchema)
    bill_due = fields.Nested(RuleSchema, metadata={
        "description": "A bill due in its reminder days, and a bill overdue."})
    scheduled_transfer_failed = fields.Nested(RuleSchema, metadata={
        "description": "A run of a scheduled transfer was refused (funds, a frozen account, ...)."})
    rewards_earned = fields.Nested(RuleSchema, metadata={
        "description": "Reward points earned on card spending (off by default)."})
    account_changes = fields.Nested(RuleSchema, metadata={
        "description": "When one of the customer's accounts is opened, frozen, unfrozen or "
                       "closed."})


class QuietHoursSchema(ma.Schema):
    enabled = fields.Boolean()
    start = fields.String(validate=_HH_MM)
    end = fields.String(validate=_HH_MM)
    timezone = Checked(validators.timezone_name, metadata=validators.TIMEZONE_DOC)


class NotificationSettingsSchema(GuardedSchema):
    channels = fields.Nested(ChannelsSchema)
    events = fields.Nested(EventRulesSchema)
    quiet_hours = fields.Nested(QuietHoursSchema, metadata={
        "description": "Notifications raised inside this window are delivered at its end."})


@functools.cache
def merge_patch_of(schema: type[ma.Schema]) -> type[ma.Schema]:
    """For the OpenAPI document: the body a merge patch of `schema` may carry (RFC 7396),
    every member optional and nullable (null resets it to its default), objects within
    likewise. MergePatchSchema, not this, loads the patch."""
    members = {}
    for name, field in schema._declared_fields.items():
        member = copy.copy(field)
        member.required, member.allow_none = False, True
        if isinstance(member, fields.Nested) and isinstance(member.nested, type):
            member.nested = merge_patch_of(member.nested)
        members[name] = member
    return type(schema.__name__.removesuffix("Schema") + "PatchSchema", (ma.Schema,), members)


class DeliverySchema(ma.Schema):
    status = fields.String(metadata={"description": "pending or deferred (quiet hours)"})
    deliver_after = fields.DateTime()


class NotificationSchema(ma.Schema):
    id = fields.String(attribute="_id")
    kind = fields.String()
    title = fields.String()
    message = fields.String()
    data = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    channels = fields.List(fields.String())
    delivery = fields.Nested(DeliverySchema)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationPageSchema(ma.Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    next_cursor = fields.String(allow_none=True)


class NotificationQuerySchema(ma.Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    unread = fields.Boolean(load_default=False)


class UnreadCountSchema(ma.Schema):
    unread = fields.Integer()
