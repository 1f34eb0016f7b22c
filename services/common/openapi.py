"""What every service's OpenAPI document says about errors and the headers writes need.

The document is produced by the code that runs, so it must describe what the wire carries:
every error is `application/problem+json` (problems.py), never flask-smorest's default
`application/json` error schema. ProblemApi registers its default responses that way;
`problem_alt` documents an error status with a description of its own the same way; the
header parameters here say what the handlers check (idempotent.py, documents.py), so that a
client generated from the document sends what the server accepts.
"""
from __future__ import annotations

import http

import marshmallow as ma
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from .problems import MEDIA_TYPE, _http_exception_problem


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details; members beyond these (e.g. `errors`, `rule`) may follow."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    code = ma.fields.String(required=True, metadata={"description": "Stable, snake_case: branch on this"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                            metadata={"description": "validation_error only: messages by field"})


class ProblemApi(Api):
    """flask-smorest's Api, answering and documenting errors as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return _http_exception_problem(error)

    def _register_responses(self):
        # flask-smorest's own, with the problem media type: one component per status and
        # DEFAULT_ERROR, which every operation's `default` response refers to.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def problem_alt(blp, status: int, description: str):
    """@blp.alt_response for an error the operation answers, described in its own words."""
    return blp.alt_response(status, schema=ProblemSchema, content_type=MEDIA_TYPE, description=description)


def idempotency_key(required: bool) -> dict:
    """The Idempotency-Key header as services/transactions/api/idempotent.py reads it:
    1-255 characters with something other than white space."""
    return {"in": "header", "name": "Idempotency-Key", "required": required,
            "description": "Any string unique to this write (a UUID will do); a replay answers the first outcome.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\s*\S"}}


def if_match(required: bool) -> dict:
    """If-Match with the ETag last read (a missing one answers 428 where required)."""
    return {"in": "header", "name": "If-Match", "required": required,
            "description": "The ETag of the version last read; `*` for any.",
            "schema": {"type": "string", "minLength": 1}}


