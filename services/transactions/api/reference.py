"""Reference data: the currencies the ledger accepts and their minor units."""
import marshmallow as ma
from flask_smorest import Blueprint

from ..currencies import all_currencies

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="Reference data.")


class CurrencySchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    minor_units = ma.fields.Integer()


@blp.get("/currencies")
@blp.response(200, CurrencySchema(many=True))
def list_currencies():
    """ISO 4217 currencies with the decimal places an amount may have."""
    return all_currencies()
