"""GET /api/v1/categories: the category master (migration 0014), in its order."""
import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import select

from services.common.sql import read_session

from ..models import categories

blp = Blueprint("categories", __name__, url_prefix="/api/v1", description="Spending categories.")


class CategorySchema(ma.Schema):
    slug = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    icon = ma.fields.String()
    color = ma.fields.String(metadata={"example": "#2E7D32"})


class CategoryListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CategorySchema))
    next_cursor = ma.fields.String(allow_none=True, metadata={"description": "always null: one page"})


@blp.get("/categories")
@blp.response(200, CategoryListSchema)
def list_categories():
    """The categories a statement line may carry."""
    rows = read_session().execute(select(categories.c.slug, categories.c.name, categories.c.description,
                                         categories.c.icon, categories.c.color)
                                  .order_by(categories.c.position)).all()
    return {"items": [dict(row._mapping) for row in rows], "next_cursor": None}
