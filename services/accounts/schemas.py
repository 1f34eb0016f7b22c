"""Request and response shapes of the accounts service's endpoints."""
from __future__ import annotations

from datetime import timezone

import marshmallow as ma
from marshmallow import validate

from services.common.amounts import AmountString
from services.common.currency import CurrencyCode
from services.common.fields import SafeText, StrictRegexp

from .account_types import ACCOUNT_TYPES
from .passwords import MAX_LENGTH, MIN_LENGTH


class UtcDateTime(ma.fields.DateTime):
    """RFC 3339 in UTC, whatever the database session's time zone."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class RegisterSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    # services/accounts/passwords.py's length rule (its character-class rules are its own).
    password = ma.fields.String(required=True, metadata={"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH})
    full_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = ma.fields.String(load_default=None, allow_none=True,
                             validate=StrictRegexp(r"^\+[1-9][0-9]{6,14}$", error="E.164 format, e.g. +441632960961"))
    national_id = ma.fields.String(load_default=None, allow_none=True,
                                   validate=StrictRegexp(r"^[A-Za-z0-9-]{4,32}$", error="4 to 32 letters, digits or -"))


class CustomerSchema(ma.Schema):
    id = ma.fields.String()
    email = ma.fields.String()
    full_name = ma.fields.String()
    kyc_status = ma.fields.String()


class MeSchema(CustomerSchema):
    phone = ma.fields.String(allow_none=True)
    national_id = ma.fields.String(allow_none=True)  # masked: only the last 4 characters
    roles = ma.fields.List(ma.fields.String())
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class OpenAccountSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=validate.OneOf(list(ACCOUNT_TYPES)))
    currency = CurrencyCode(required=True)
    nickname = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=60))


class RenameAccountSchema(ma.Schema):
    nickname = ma.fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=60))


class AccountSchema(ma.Schema):
    id = ma.fields.String()
    number = ma.fields.String()
    type = ma.fields.String()
    currency = ma.fields.String()
    status = ma.fields.String()
    nickname = ma.fields.String(allow_none=True)
    overdraft_limit = ma.fields.String()
    created_at = UtcDateTime()
    balance = ma.fields.String(allow_none=True)
    available_balance = ma.fields.String(allow_none=True)
    balance_unavailable = ma.fields.Boolean()


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = ma.fields.String(load_default=None)


class AccountPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AccountSchema))
    next_cursor = ma.fields.String(allow_none=True)


class AuditArgsSchema(PageArgsSchema):
    actor_id = ma.fields.UUID(load_default=None)
    customer_id = ma.fields.UUID(load_default=None)
    action = ma.fields.String(load_default=None)
    target_type = ma.fields.String(load_default=None)
    target_id = ma.fields.String(load_default=None)
    since = ma.fields.AwareDateTime(load_default=None, data_key="from")
    until = ma.fields.AwareDateTime(load_default=None, data_key="to")


class AuditEntrySchema(ma.Schema):
    id = ma.fields.String()
    occurred_at = UtcDateTime()
    actor_id = ma.fields.String(allow_none=True)
    actor_type = ma.fields.String()
    action = ma.fields.String()
    target_type = ma.fields.String()
    target_id = ma.fields.String()
    customer_id = ma.fields.String(allow_none=True)
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    request_id = ma.fields.String(allow_none=True)


class AuditPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditEntrySchema))
    next_cursor = ma.fields.String(allow_none=True)


# The gateway's refresh tokens ("frt_" + 256 bits in URL-safe base64), passed raw: only
# the accounts service hashes them, so nothing that reads its database can forge a session.
_REFRESH_TOKEN = StrictRegexp(r"^frt_[A-Za-z0-9_-]{43}$", error="A refresh token from this API.")


class InternalLoginSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=1024))
    refresh_token = ma.fields.String(required=True, validate=_REFRESH_TOKEN)
    # The client's address as the gateway sees it (after TRUSTED_PROXY_HOPS): the throttle's key.
    client_address = SafeText(required=True, validate=validate.Length(min=1, max=100))


class InternalRefreshSchema(ma.Schema):
    refresh_token = ma.fields.String(required=True, validate=_REFRESH_TOKEN)
    new_refresh_token = ma.fields.String(required=True, validate=_REFRESH_TOKEN)


class InternalLogoutSchema(ma.Schema):
    refresh_token = ma.fields.String(required=True, validate=_REFRESH_TOKEN)


class IdentitySchema(ma.Schema):
    customer_id = ma.fields.String()
    roles = ma.fields.List(ma.fields.String())


KYC_STATUSES = ("unverified", "verified", "rejected")


class CustomerArgsSchema(PageArgsSchema):
    email = ma.fields.String(load_default=None, validate=validate.Length(min=1, max=254))
    kyc_status = ma.fields.String(load_default=None, validate=validate.OneOf(KYC_STATUSES))


class AdminCustomerSchema(CustomerSchema):
    roles = ma.fields.List(ma.fields.String())
    version = ma.fields.Integer()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class CustomerPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AdminCustomerSchema))
    next_cursor = ma.fields.String(allow_none=True)


class KycDecisionSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=validate.OneOf(("verified", "rejected")))
    note = SafeText(load_default=None, allow_none=True, validate=validate.Length(max=500))


class AccountLimitSchema(ma.Schema):
    # The shape rule here; the account's currency decides the decimal places (api/admin.py).
    overdraft_limit = AmountString(required=True)
