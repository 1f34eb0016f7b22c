"""GET / PUT / PATCH of the per-customer documents, with ETag and If-Match."""
from __future__ import annotations

import re

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.openapi import if_match, problem_alt
from services.common.service_auth import require_customer

from ..domain.documents import (DocumentKind, Versioned, patch_document, read_document,
                                replace_document)
from ..kinds import NOTIFICATION_SETTINGS, PREFERENCES
from ..schemas import MergePatchSchema, NotificationSettingsSchema, PreferencesSchema, merge_patch_of
from ..store import mongo_db
from .body_limits import refuse_unreasonable_body

_OUR_ETAG = re.compile(r"^v(\d{1,18})$")


def expected_versions() -> set[int] | None:
    """The versions If-Match accepts: None when absent or `*` (defaults always exist)."""
    if "If-Match" not in request.headers or request.if_match.star_tag:
        return None
    return {int(m.group(1)) for tag in request.if_match.as_set() if (m := _OUR_ETAG.match(tag))}


def _answer(document: Versioned):
    return document.body, 200, {"ETag": document.etag}


def document_blueprint(name: str, path: str, kind: DocumentKind,
                       schema: type[ma.Schema], description: str) -> Blueprint:
    blp = Blueprint(name, __name__, url_prefix="/api/v1", description=description)
    blp.before_request(refuse_unreasonable_body)

    @blp.route(path)
    class Document(MethodView):
        @blp.response(200, schema, headers={"ETag": {"schema": {"type": "string"}}})
        def get(self):
            """The customer's document (the defaults until they change it)."""
            return _answer(read_document(mongo_db(), kind, require_customer()))

        @blp.arguments(schema)
        @blp.response(200, schema)
        @blp.doc(parameters=[if_match(required=False)])
        @problem_alt(blp, 412, "If-Match names an older version (precondition_failed).")
        def put(self, body):
            """Replace the document; members left out take their defaults. If-Match optional."""
            return _answer(replace_document(mongo_db(), kind, require_customer(), body,
                                            expected_versions()))

        @blp.arguments(MergePatchSchema)
        @blp.doc(requestBody={"content": {  # what a patch may hold: the document's members
            media: {"schema": merge_patch_of(schema)} for media in ("application/merge-patch+json",
                                                    "application/json")}})
        @blp.response(200, schema)
        @blp.doc(parameters=[if_match(required=False)])
        @problem_alt(blp, 412, "If-Match names an older version (precondition_failed).")
        def patch(self, patch):
            """Apply a JSON merge patch (RFC 7396); null resets a member to its default."""
            return _answer(patch_document(mongo_db(), kind, require_customer(), patch,
                                          expected_versions()))

    return blp


preferences_blp = document_blueprint(
    "preferences", "/preferences", PREFERENCES, PreferencesSchema,
    "Language (BCP 47), time zone (IANA), display currency (ISO 4217), theme, date format "
    "and dashboard widgets.")
notification_settings_blp = document_blueprint(
    "notification_settings", "/notification-settings", NOTIFICATION_SETTINGS,
    NotificationSettingsSchema,
    "Channels, per-event rules and quiet hours. Thresholds are decimal strings compared "
    "with each posting in the posting's own currency.")
