"""services/common/openapi.py and the fields that document their own rules."""
from __future__ import annotations

import re

import marshmallow as ma
import pytest
from flask_smorest import Blueprint

from services.common.amounts import AmountString
from services.common.app_factory import create_service_app
from services.common.currency import CURRENCY_CODES, CurrencyCode
from services.common.fields import SafeText, WholeNumber, anchored
from services.common.openapi import idempotency_key, problem_alt
from services.common.problems import MEDIA_TYPE


class _Body(ma.Schema):
    amount = AmountString(required=True)
    currency = CurrencyCode(required=True)
    note = SafeText()
    count = WholeNumber()


def _spec() -> dict:
    app, api = create_service_app("docs_probe", [], {"INTERNAL_TOKEN_SECRET": "s" * 40}, internal_guard=False)
    blp = Blueprint("probe", __name__, url_prefix="/api/v1")

    @blp.post("/things")
    @blp.arguments(_Body)
    @blp.response(201, _Body)
    @problem_alt(blp, 409, "A clash (conflict).")
    @blp.doc(parameters=[idempotency_key(required=True)])
    def things(body):
        return body

    api.register_blueprint(blp)
    with app.app_context():
        return api.spec.to_dict()


def test_every_error_response_is_problem_json():
    spec = _spec()
    operation = spec["paths"]["/api/v1/things"]["post"]
    errors = {status: response for status, response in operation["responses"].items()
              if status == "default" or int(status) >= 400}
    assert set(errors) >= {"default", "409", "422"}
    components = spec["components"]["responses"]
    for status, response in errors.items():
        response = components[response["$ref"].rsplit("/", 1)[1]] if "$ref" in response else response
        assert list(response["content"]) == [MEDIA_TYPE], status
        assert response["content"][MEDIA_TYPE]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "code" in spec["components"]["schemas"]["Problem"]["required"]


def test_fields_carry_the_rules_the_code_enforces():
    properties = _spec()["components"]["schemas"]["_Body"]["properties"]
    assert re.fullmatch(properties["amount"]["pattern"], "1250.50")
    assert not re.fullmatch(properties["amount"]["pattern"], "1e5")
    assert properties["currency"]["enum"] == CURRENCY_CODES and "EUR" in CURRENCY_CODES
    assert not re.fullmatch(properties["note"]["pattern"], "tab\there")
    assert properties["count"]["type"] == "integer"


def test_the_idempotency_key_header_as_the_ledger_reads_it():
    header = idempotency_key(required=True)
    assert header["required"] and header["schema"]["maxLength"] == 255
    assert re.match(header["schema"]["pattern"], "  k") and not re.match(header["schema"]["pattern"], "   ")


@pytest.mark.parametrize("value, loaded", [(3, 3), (3.0, 3)])
def test_a_whole_number_takes_what_json_schema_calls_an_integer(value, loaded):
    assert _Body().load({"amount": "1", "currency": "EUR", "count": value})["count"] == loaded


@pytest.mark.parametrize("value", ["3", 3.5, True, 1e30])
def test_a_whole_number_refuses_the_rest(value):
    with pytest.raises(ma.ValidationError):
        _Body().load({"amount": "1", "currency": "EUR", "count": value})


def test_anchored_matches_as_fullmatch_does():
    pattern = re.compile(r"[0-9]{1,3}(\.[0-9]{1,4})?")
    assert re.search(anchored(pattern), "12.5") and not re.search(anchored(pattern), "x12.5")


def test_a_currency_code_is_one_of_the_list():
    class Only(ma.Schema):
        currency = CurrencyCode(required=True)
    assert Only().load({"currency": "JPY"}) == {"currency": "JPY"}
    with pytest.raises(ma.ValidationError):
        Only().load({"currency": "eur"})
