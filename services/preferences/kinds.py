"""The two per-customer documents: their collection, defaults and validation."""
from __future__ import annotations

import marshmallow as ma

from services.common.errors import flatten_messages

from .defaults import DEFAULT_NOTIFICATION_SETTINGS, DEFAULT_PREFERENCES
from .domain.documents import Body, DocumentKind
from .domain.errors import DocumentInvalid
from .schemas import NotificationSettingsSchema, PreferencesSchema


def _validator(schema: ma.Schema):
    def validate(body: Body) -> Body:
        try:
            return schema.load(body)
        except ma.ValidationError as exc:
            raise DocumentInvalid(flatten_messages(exc.messages)) from None
    return validate


def keep_verification(new: Body, old: Body) -> Body:
    """`verified` belongs to the verification flow: kept while the address stays, else reset."""
    for name, channel in new["channels"].items():
        previous = old["channels"].get(name) or {}
        same_address = channel.get("address") == previous.get("address")
        channel["verified"] = bool(previous.get("verified")) if same_address else False
    return new


PREFERENCES = DocumentKind("preferences", DEFAULT_PREFERENCES,
                           _validator(PreferencesSchema()))
NOTIFICATION_SETTINGS = DocumentKind("notification_settings", DEFAULT_NOTIFICATION_SETTINGS,
                                     _validator(NotificationSettingsSchema()),
                                     settle=keep_verification)
