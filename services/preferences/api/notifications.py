"""The notification inbox: newest first, cursor-paginated, marked read one by one."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.openapi import problem_alt
from services.common.service_auth import require_customer

from ..domain.inbox import list_notifications, mark_read, unread_count
from ..schemas import NotificationPageSchema, NotificationQuerySchema, UnreadCountSchema
from ..store import mongo_db
from .body_limits import refuse_unreasonable_body

blp = Blueprint("notifications", __name__, url_prefix="/api/v1",
                description="Notifications raised from ledger events.")
blp.before_request(refuse_unreasonable_body)


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """The customer's notifications, newest first; `?unread=true` for unread only."""
        page = list_notifications(mongo_db(), require_customer(), args["limit"], args["cursor"], args["unread"])
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.get("/notifications/unread-count")
@blp.response(200, UnreadCountSchema)
def count_unread():
    """How many notifications the customer has not read (for the dashboard)."""
    return {"unread": unread_count(mongo_db(), require_customer())}


@blp.post("/notifications/<string(maxlength=64):notification_id>/read")
@blp.response(204)
@problem_alt(blp, 404, "No such notification for this customer (not_found).")
def read_notification(notification_id: str):
    """Mark one notification read (idempotent); another customer's id is 404."""
    mark_read(mongo_db(), require_customer(), notification_id)
