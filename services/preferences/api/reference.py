"""The defaults a new customer's preferences start from."""
import marshmallow as ma
from flask_smorest import Blueprint

from ..defaults import DEFAULT_PREFERENCES

blp = Blueprint("reference", __name__, url_prefix="/api/v1", description="Reference data.")


class DefaultPreferencesSchema(ma.Schema):
    language = ma.fields.String()
    timezone = ma.fields.String()
    display_currency = ma.fields.String()
    theme = ma.fields.String()
    date_format = ma.fields.String()
    dashboard_widgets = ma.fields.List(ma.fields.String())


@blp.get("/preferences/defaults")
@blp.response(200, DefaultPreferencesSchema)
def default_preferences():
    """The preferences every customer has until they change them."""
    return DEFAULT_PREFERENCES
