"""Reference data clients need to open an account."""
import marshmallow as ma
from flask_smorest import Blueprint

from ..account_types import ACCOUNT_TYPES

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="Reference data.")


class AccountTypeSchema(ma.Schema):
    type = ma.fields.String()
    description = ma.fields.String()


@blp.get("/account-types")
@blp.response(200, AccountTypeSchema(many=True))
def list_account_types():
    """The kinds of account a customer can open."""
    return [{"type": name, "description": text} for name, text in ACCOUNT_TYPES.items()]
