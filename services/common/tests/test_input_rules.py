"""Body and string rules of every app: deep or broken JSON, NUL and surrogates, free text."""
import json

import marshmallow as ma
import pytest
from flask_smorest import Blueprint

from services.common.app_factory import create_service_app
from services.common.fields import SafeText
from services.common.input_rules import json_depth_exceeds
from tests.support.tokens import TEST_SECRET, FreshAuthHeader

AUTH = FreshAuthHeader("demo")


class NoteSchema(ma.Schema):
    name = SafeText(required=True)
    tags = ma.fields.List(ma.fields.String())


@pytest.fixture
def client():
    app, api = create_service_app("demo", [], {"INTERNAL_TOKEN_SECRET": TEST_SECRET})
    blp = Blueprint("demo", __name__, url_prefix="/api/v1")

    @blp.post("/notes")
    @blp.arguments(NoteSchema)
    def create_note(note):
        return note, 201

    @blp.get("/notes")
    def list_notes():
        return {"items": []}

    api.register_blueprint(blp)
    return app.test_client()


def post(client, raw, headers=AUTH):
    return client.post("/api/v1/notes", data=raw, content_type="application/json", headers=headers)


def assert_problem(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code
    return response.get_json()


def test_depth_is_counted_outside_strings_only():
    assert not json_depth_exceeds(b"[" * 32 + b"]" * 32)
    assert json_depth_exceeds(b"[" * 33 + b"]" * 33)
    assert not json_depth_exceeds(json.dumps({"text": "[" * 500}).encode())
    assert not json_depth_exceeds(json.dumps({"t": '\\"[[[' * 100}).encode())


@pytest.mark.parametrize("raw", [b"[" * 5000 + b"]" * 5000, b"[" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000])
def test_deep_json_is_invalid_body_before_authentication(client, raw):
    assert_problem(post(client, raw, headers={}), 400, "invalid_body")
    assert_problem(post(client, raw), 400, "invalid_body")


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b"name=x", b'{"name": "x"',
                                 b'{"name": NaN}', b'{"tags": [Infinity]}', b'[-Infinity]'])
def test_not_json_is_invalid_body(client, raw):
    assert_problem(post(client, raw), 400, "invalid_body")


def test_nesting_up_to_the_limit_reaches_validation(client):
    nested = {"name": "ok", "tags": json.loads("[" * 30 + "]" * 30)}
    assert_problem(post(client, json.dumps(nested).encode()), 422, "validation_error")


@pytest.mark.parametrize("raw, field", [
    (b'{"name": "a\\u0000b"}', "name"),
    (b'{"name": "ok", "tags": ["x", "\\ud800"]}', "tags.1"),
    (b'{"name\\u0000": "x"}', "name?"),
])
def test_nul_and_lone_surrogates_are_refused_naming_the_field(client, raw, field):
    body = assert_problem(post(client, raw), 422, "validation_error")
    assert field in body["errors"]


def test_query_parameters_are_checked_too(client):
    body = assert_problem(client.get("/api/v1/notes?cursor=a%00b", headers=AUTH), 422, "validation_error")
    assert "cursor" in body["errors"]


@pytest.mark.parametrize("name", ["tab\there", "new\nline", "bell\x07", "c1\x85"])
def test_free_text_refuses_control_characters(client, name):
    body = assert_problem(post(client, json.dumps({"name": name}).encode()), 422, "validation_error")
    assert "name" in body["errors"]


def test_clean_input_passes(client):
    response = post(client, json.dumps({"name": "Café – ok ✓", "tags": ["a"]}).encode())
    assert response.status_code == 201 and response.get_json()["name"] == "Café – ok ✓"


def test_a_strict_regexp_shows_its_ecma_pattern_and_refuses_a_final_newline():
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    from services.common.fields import StrictRegexp

    class Phone(ma.Schema):
        phone = ma.fields.String(validate=StrictRegexp(r"^\+[1-9][0-9]{6,14}$", error="E.164"))

    assert Phone().load({"phone": "+441632960961"}) == {"phone": "+441632960961"}
    for bad in ("+441632960961\n", "+44163296096x", "441632960961"):
        with pytest.raises(ma.ValidationError) as refused:
            Phone().load({"phone": bad})
        assert refused.value.messages == {"phone": ["E.164"]}
    spec = APISpec("t", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.schema("Phone", schema=Phone)
    assert spec.to_dict()["components"]["schemas"]["Phone"]["properties"]["phone"]["pattern"] == r"^\+[1-9][0-9]{6,14}$"
