"""Hostile bodies, strings and amounts through the gateway (API.md "Input that is never a
5xx"): deep or broken JSON is 400 `invalid_body` (before authentication), a body past
MAX_CONTENT_LENGTH is 413, NUL and lone surrogates are 422 `validation_error` naming the
field, and an amount that is not plain ASCII digits is 422. Nothing is written by any of them."""
from __future__ import annotations

import json

import pytest

from tests.support.tokens import auth_header

from .conftest import assert_problem, key, send_raw

pytestmark = [pytest.mark.e2e, pytest.mark.security]

MIB = 1024 * 1024


def transfer(owner, amount='"1.00"', **fields) -> str:
    """A transfer body between the owner's own accounts, the amount as raw JSON text."""
    body = {"from_account_id": owner.account, "to_account_id": owner.second_account, "currency": "EUR",
            "description": "test", **fields}
    return json.dumps(body)[:-1] + f', "amount": {amount}}}'


def balances(owner) -> tuple[str, str]:
    return tuple(owner.call("GET", f"/api/v1/accounts/{account}").json()["balance"]
                 for account in (owner.account, owner.second_account))


# --- Deep and broken JSON --------------------------------------------------------------

DEEP = {
    "5000 arrays": "[" * 5000 + "]" * 5000,
    "5000 arrays, unclosed": "[" * 5000,
    "5000 objects": '{"a":' * 5000 + "1" + "}" * 5000,
    "33 levels": "[" * 33 + "]" * 33,
    "33 levels under a field": '{"from_account_id": ' + "[" * 32 + "]" * 32 + "}",
}


@pytest.mark.parametrize("with_token", [True, False], ids=["customer", "anonymous"])
@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/transfers", "/api/v1/auth/register",
                                  "/api/v1/accounts", "/api/v1/preferences"])
@pytest.mark.parametrize("body", DEEP.values(), ids=DEEP.keys())
def test_json_deeper_than_32_levels_is_400_invalid_body(gateway, owner, path, body, with_token):
    headers = {**(owner.auth if with_token else {}), **key()}
    method = "PUT" if path == "/api/v1/preferences" else "POST"
    assert_problem(send_raw(gateway, method, path, body, headers), 400, "invalid_body")


@pytest.mark.parametrize("path,field", [("/api/v1/auth/login", "email"), ("/api/v1/transfers", "from_account_id")])
def test_json_of_exactly_32_levels_is_parsed_and_validated(gateway, owner, path, field):
    body = json.dumps({field: json.loads("[" * 31 + "]" * 31)})  # the object is level 1
    body_ = assert_problem(send_raw(gateway, "POST", path, body, {**owner.auth, **key()}), 422, "validation_error")
    assert field in json.dumps(body_)


NOT_JSON = {
    "broken": b"{not json",
    "trailing comma": b'{"email": "a@example.com",}',
    "single quotes": b"{'email': 'a@example.com'}",
    "two documents": b'{"a": 1}{"b": 2}',
    "invalid utf-8": b'{"email": "\xff\xfe"}',
    "NaN is not JSON": b'{"email": "a@example.com", "password": NaN}',
    "Infinity is not JSON": b'{"amount": Infinity}',
    "truncated": b'{"email": "a@exa',
}


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/transfers",
                                  "/api/v1/accounts", "/api/v1/admin/deposits"])
@pytest.mark.parametrize("body", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_body_that_is_not_json_is_400_invalid_body(gateway, owner, path, body):
    assert_problem(send_raw(gateway, "POST", path, body, {**owner.auth, **key()}), 400, "invalid_body")


# --- Oversized bodies ------------------------------------------------------------------

@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/transfers",
                                  "/api/v1/accounts", "/api/v1/preferences"])
def test_a_body_past_1_mib_is_413(gateway, owner, path, chunked):
    body = json.dumps({"email": "a@example.com", "password": "x", "nickname": "x" * (MIB + 10)})
    method = "PUT" if path == "/api/v1/preferences" else "POST"
    accounts = len(owner.call("GET", "/api/v1/accounts").json()["items"])
    response = send_raw(gateway, method, path, body, {**owner.auth, **key()}, chunked=chunked)
    assert_problem(response, 413)
    assert len(owner.call("GET", "/api/v1/accounts").json()["items"]) == accounts


# --- NUL and lone surrogates -----------------------------------------------------------

NUL, SURROGATE = "\\u0000", "\\ud800"  # as JSON escapes: the raw characters cannot be sent as UTF-8


def _strings(owner):
    """(method, path, raw JSON body, the field the answer must name)."""
    register = '{"email": "%s", "password": "Correct-Horse-42-battery", "full_name": "%s"}'
    return {
        "register email NUL": ("POST", "/api/v1/auth/register", register % (f"nul{NUL}@example.com", "Ann"), "email"),
        "register name NUL": ("POST", "/api/v1/auth/register", register % ("n1@example.com", f"Ann{NUL}"), "full_name"),
        "register name surrogate": ("POST", "/api/v1/auth/register",
                                    register % ("n2@example.com", f"Ann{SURROGATE}"), "full_name"),
        "login email NUL": ("POST", "/api/v1/auth/login",
                            f'{{"email": "{owner.email}{NUL}", "password": "x"}}', "email"),
        "login password surrogate": ("POST", "/api/v1/auth/login",
                                     f'{{"email": "{owner.email}", "password": "{SURROGATE}"}}', "password"),
        "refresh token NUL": ("POST", "/api/v1/auth/refresh", f'{{"refresh_token": "frt_{NUL}"}}', "refresh_token"),
        "account nickname NUL": ("POST", "/api/v1/accounts",
                                 f'{{"type": "checking", "currency": "EUR", "nickname": "a{NUL}b"}}', "nickname"),
        "account nickname surrogate": ("PATCH", f"/api/v1/accounts/{owner.account}",
                                       f'{{"nickname": "{SURROGATE}"}}', "nickname"),
        "transfer description NUL": ("POST", "/api/v1/transfers", transfer(owner, description=f"x{NUL}")
                                     .replace("\\\\u0000", NUL), "description"),
        "transfer account id NUL": ("POST", "/api/v1/transfers",
                                    transfer(owner).replace(owner.account, owner.account + NUL), "from_account_id"),
        "preferences timezone NUL": ("PATCH", "/api/v1/preferences", f'{{"timezone": "UTC{NUL}"}}', "timezone"),
        "preferences language surrogate": ("PUT", "/api/v1/preferences", f'{{"language": "en{SURROGATE}"}}',
                                           "language"),
        "NUL in a key": ("POST", "/api/v1/accounts", f'{{"type": "checking", "currency": "EUR", "ni{NUL}ck": "x"}}',
                         None),
    }


STRING_CASES = ["register email NUL", "register name NUL", "register name surrogate", "login email NUL",
                "login password surrogate", "refresh token NUL", "account nickname NUL",
                "account nickname surrogate", "transfer description NUL", "transfer account id NUL",
                "preferences timezone NUL", "preferences language surrogate", "NUL in a key"]


@pytest.mark.parametrize("case", STRING_CASES)
def test_nul_or_a_lone_surrogate_in_a_body_field_is_422_naming_it(gateway, owner, case):
    method, path, body, field = _strings(owner)[case]
    before = balances(owner)
    response = send_raw(gateway, method, path, body, {**owner.auth, **key(), "If-Match": "*"})
    problem = assert_problem(response, 422, "validation_error")
    if field is not None:
        assert field in json.dumps(problem.get("errors", problem)), problem
    assert balances(owner) == before
    nicknames = [a.get("nickname") or "" for a in owner.call("GET", "/api/v1/accounts").json()["items"]]
    assert not any("\x00" in n or "\ud800" in n for n in nicknames)


@pytest.mark.parametrize("query,field", [
    ("/api/v1/accounts?cursor=abc%00", "cursor"),
    ("/api/v1/accounts?limit=1%00", "limit"),
    ("/api/v1/accounts/{account}/transactions?category=%00", "category"),
    ("/api/v1/accounts/{account}/transactions?from=2026-01-01%00", "from"),
    ("/api/v1/notifications?unread=true%00", "unread"),
    ("/api/v1/notifications?cursor=%00", "cursor"),
])
def test_nul_in_a_query_parameter_is_422_naming_it(gateway, owner, query, field):
    response = send_raw(gateway, "GET", query.format(account=owner.account), None, owner.auth)
    problem = assert_problem(response, 422, "validation_error")
    assert field in json.dumps(problem.get("errors", problem)), problem


@pytest.mark.parametrize("value", ["abc\x01def", "abc\x7f", "\x1b[31mred", "caf\u00e9", "key\u00a0"])
def test_a_control_character_in_the_idempotency_key_is_refused(gateway, owner, value):
    """A header we read (API.md: strings anywhere): never stored, never a 5xx."""
    before = balances(owner)
    response = send_raw(gateway, "POST", "/api/v1/transfers", transfer(owner),
                        {**owner.auth, "Idempotency-Key": value})
    if response.status == 400:  # gunicorn refuses some control characters in any header itself
        assert_problem(response, 400)
    else:
        problem = assert_problem(response, 422, "validation_error")
        assert "idempotency-key" in json.dumps(problem).lower(), problem
    assert balances(owner) == before


# --- Hostile amounts -------------------------------------------------------------------

HOSTILE_AMOUNTS = {
    "huge exponent": '"1E+999999999"',
    "plus sign": '"+1.00"',
    "spaces": '" 1.00 "',
    "arabic-indic digit": '"\u0661"',
    "fullwidth digit": '"\uff11"',
    "exponent 17": '"1E+17"',
    "lower exponent": '"1e2"',
    "past int64 cents": '"92233720368547758.07"',
    "trailing dot": '"1."',
    "leading dot": '".5"',
    "13 digits": '"1234567890123"',
    "13 digits with zeros": '"0000000000001"',
    "negative": '"-1.00"',
    "zero": '"0.00"',
    "three decimals for EUR": '"1.001"',
    "comma": '"1,00"',
    "underscore": '"1_000"',
    "hex": '"0x10"',
    "NaN string": '"NaN"',
    "Infinity string": '"Infinity"',
    "empty": '""',
    "newline": '"1.00\\n"',
    "float number": "1.5",
    "integer number": "100",
    "huge number": "1e999",
    "boolean": "true",
    "null": "null",
    "list": '["1.00"]',
}


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS.values(), ids=HOSTILE_AMOUNTS.keys())
def test_a_hostile_amount_in_a_transfer_is_422(gateway, owner, amount):
    before = balances(owner)
    response = send_raw(gateway, "POST", "/api/v1/transfers", transfer(owner, amount), {**owner.auth, **key()})
    problem = assert_problem(response, 422, "validation_error")
    assert "amount" in json.dumps(problem.get("errors", problem)), problem
    assert balances(owner) == before


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS.values(), ids=HOSTILE_AMOUNTS.keys())
def test_a_hostile_amount_in_an_admin_deposit_is_422(gateway, owner, admin, amount):
    before = balances(owner)
    body = json.dumps({"account_id": owner.account, "currency": "EUR"})[:-1] + f', "amount": {amount}}}'
    response = send_raw(gateway, "POST", "/api/v1/admin/deposits", body, {**admin.auth, **key()})
    problem = assert_problem(response, 422, "validation_error")
    assert "amount" in json.dumps(problem.get("errors", problem)), problem
    assert balances(owner) == before


def test_a_plain_amount_still_moves_money(gateway, owner):
    """The control: the same body with a plain amount is accepted, so the 422s above are the amount's."""
    before = balances(owner)
    response = send_raw(gateway, "POST", "/api/v1/transfers", transfer(owner, '"0.01"'), {**owner.auth, **key()})
    assert response.status == 201, response.body
    after = balances(owner)
    assert after != before
    back = send_raw(gateway, "POST", "/api/v1/transfers", json.dumps({
        "from_account_id": owner.second_account, "to_account_id": owner.account, "amount": "0.01",
        "currency": "EUR"}), {**owner.auth, **key()})
    assert back.status == 201, back.body
    assert balances(owner) == before


# --- The same rules at each service, for whoever reaches one directly --------------------

DIRECT = [("accounts", "POST", "/api/v1/accounts", "gateway"),
          ("transactions", "POST", "/api/v1/transfers", "gateway"),
          ("preferences", "PUT", "/api/v1/preferences", "gateway"),
          ("transactions", "POST", "/internal/events", "accounts"),
          ("preferences", "POST", "/internal/events", "transactions")]


@pytest.mark.parametrize("service,method,path,caller", DIRECT, ids=[f"{s} {p}" for s, _m, p, _c in DIRECT])
def test_each_service_refuses_deep_json_itself(suite, owner, service, method, path, caller):
    headers = {**auth_header(service, owner.id, ("customer",), caller=caller), **key()}
    response = send_raw(suite.url(service), method, path, "[" * 5000 + "]" * 5000, headers)
    assert_problem(response, 400, "invalid_body")


@pytest.mark.parametrize("service,method,path,caller", DIRECT[:3], ids=[f"{s} {p}" for s, _m, p, _c in DIRECT[:3]])
def test_each_service_refuses_nul_itself(suite, owner, service, method, path, caller):
    headers = {**auth_header(service, owner.id, ("customer",), caller=caller), **key()}
    response = send_raw(suite.url(service), method, path, f'{{"description": "x{NUL}", "nickname": "y{NUL}", '
                                                          f'"language": "e{NUL}"}}', headers)
    assert_problem(response, 422, "validation_error")
