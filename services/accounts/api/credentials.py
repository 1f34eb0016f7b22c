"""Internal credential endpoints the gateway calls: it signs access tokens, we check passwords.

Refresh tokens arrive raw from the gateway and are hashed here (domain/refresh_tokens.py):
no endpoint takes a hash, so a hash read from the database is useless. Two answers commit although they are errors,
on purpose: a failed login is counted, and a reused refresh token revokes its family.
"""
import uuid

from flask import current_app
from flask_smorest import Blueprint

from services.common.service_auth import require_customer

from ..domain import refresh_tokens
from ..domain.errors import InvalidCredentials, RefreshTokenReused
from ..domain.login import authenticate
from ..schemas import IdentitySchema, InternalLoginSchema, InternalLogoutSchema, InternalRefreshSchema
from .context import require_gateway, system_session

blp = Blueprint("credentials", __name__, url_prefix="/internal/auth",
                description="Credential checks and refresh tokens, for the gateway only.")


def _identity(customer) -> dict:
    return {"customer_id": str(customer.id), "roles": list(customer.roles)}


@blp.post("/login")
@blp.arguments(InternalLoginSchema)
@blp.response(200, IdentitySchema)
def login(data: dict):
    """Check the password (throttled per email and client address) and store the new
    refresh token's hash (a new family)."""
    require_gateway()
    session = system_session()
    try:
        customer = authenticate(session, data["email"], data["password"], current_app.extensions["lockout_policy"],
                                client_address=data["client_address"])
    except InvalidCredentials:
        session.commit()  # the failure counts
        raise
    refresh_tokens.issue(session, customer.id, data["refresh_token"], current_app.config["REFRESH_TOKEN_TTL_SECONDS"],
                         current_app.config["REFRESH_TOKEN_ABSOLUTE_TTL_SECONDS"])
    session.commit()
    return _identity(customer)


@blp.post("/refresh")
@blp.arguments(InternalRefreshSchema)
@blp.response(200, IdentitySchema)
def refresh(data: dict):
    """Spend a refresh token and store its successor."""
    require_gateway()
    session = system_session()
    try:
        customer = refresh_tokens.rotate(session, data["refresh_token"], data["new_refresh_token"],
                                         current_app.config["REFRESH_TOKEN_TTL_SECONDS"])
    except RefreshTokenReused:
        session.commit()  # the family stays revoked
        raise
    session.commit()
    return _identity(customer)


@blp.post("/logout")
@blp.arguments(InternalLogoutSchema)
@blp.response(204)
def logout(data: dict):
    """Revoke the family of the signed-in customer's refresh token."""
    require_gateway()
    customer_id = require_customer()
    session = system_session()
    refresh_tokens.logout(session, data["refresh_token"], uuid.UUID(customer_id))
    session.commit()
