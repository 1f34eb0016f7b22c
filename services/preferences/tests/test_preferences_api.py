"""GET / PUT / PATCH /api/v1/preferences on the real MongoDB-wire server."""
import pytest

from services.preferences.defaults import DEFAULT_PREFERENCES
from tests.support.tokens import auth_header

PATH = "/api/v1/preferences"


def test_defaults_are_answered_before_anything_is_stored(alice, mongo_db):
    response = alice.get(PATH)
    assert response.status_code == 200
    assert response.get_json() == DEFAULT_PREFERENCES
    assert response.headers["ETag"] == '"v0"'
    assert mongo_db.preferences.count_documents({}) == 0


def test_put_replaces_and_fills_left_out_members_with_defaults(alice):
    alice.patch(PATH, {"theme": "dark"})
    response = alice.put(PATH, {"language": "de-CH", "timezone": "Europe/Zurich",
                                "display_currency": "CHF"})
    assert response.status_code == 200
    assert response.get_json() == {**DEFAULT_PREFERENCES, "language": "de-CH",
                                   "timezone": "Europe/Zurich", "display_currency": "CHF"}
    assert alice.get(PATH).get_json()["theme"] == "system"


def test_patch_merges_and_null_resets_to_the_default(alice):
    alice.patch(PATH, {"theme": "dark", "language": "fr"})
    response = alice.patch(PATH, {"language": None, "dashboard_widgets": ["budgets"]})
    assert response.get_json() == {**DEFAULT_PREFERENCES, "theme": "dark",
                                   "dashboard_widgets": ["budgets"]}
    assert alice.get(PATH).get_json() == response.get_json()


def test_language_tags_are_stored_in_standard_form(alice):
    assert alice.patch(PATH, {"language": "EN-us"}).get_json()["language"] == "en-US"


def test_each_write_gives_a_new_etag_and_a_no_op_patch_keeps_it(alice):
    first = alice.patch(PATH, {"theme": "dark"})
    second = alice.patch(PATH, {"theme": "light"})
    same = alice.patch(PATH, {"theme": "light"})
    assert [first.headers["ETag"], second.headers["ETag"], same.headers["ETag"]] == \
        ['"v1"', '"v2"', '"v2"']


def test_a_stale_if_match_is_412_and_writes_nothing(alice):
    etag = alice.patch(PATH, {"theme": "dark"}).headers["ETag"]
    assert alice.patch(PATH, {"theme": "light"}, **{"If-Match": etag}).status_code == 200
    stale = alice.put(PATH, {"theme": "dark"}, **{"If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["code"] == "precondition_failed"
    assert alice.patch(PATH, {"theme": "dark"}, **{"If-Match": etag}).status_code == 412
    assert alice.get(PATH).get_json()["theme"] == "light"


def test_without_if_match_a_write_applies_to_whatever_is_current(alice):
    """If-Match is optional: without it PATCH merges into the latest version, PUT replaces it."""
    alice.patch(PATH, {"theme": "dark"})
    alice.patch(PATH, {"language": "fr"})
    response = alice.patch(PATH, {"date_format": "DD/MM/YYYY"})
    assert response.status_code == 200 and response.headers["ETag"] == '"v3"'
    assert response.get_json() == {**DEFAULT_PREFERENCES, "theme": "dark", "language": "fr",
                                   "date_format": "DD/MM/YYYY"}
    replaced = alice.put(PATH, {"theme": "light"})
    assert replaced.headers["ETag"] == '"v4"'
    assert replaced.get_json() == {**DEFAULT_PREFERENCES, "theme": "light"}


def test_if_match_on_defaults_and_star(alice):
    assert alice.patch(PATH, {"theme": "dark"}, **{"If-Match": '"v0"'}).status_code == 200
    assert alice.patch(PATH, {"theme": "light"}, **{"If-Match": "*"}).status_code == 200
    assert alice.patch(PATH, {"theme": "dark"}, **{"If-Match": 'W/"v2"'}).status_code == 412


@pytest.mark.parametrize("field, value", [
    ("language", "xx-invalid-tag"), ("language", "english"), ("language", "en_US"),
    ("timezone", "Mars/Olympus_Mons"), ("timezone", "../../etc/passwd"),
    ("display_currency", "ABC"), ("display_currency", "eur"),
    ("theme", "neon"), ("date_format", "%Y"), ("dashboard_widgets", ["accounts", "accounts"]),
])
def test_unknown_values_are_422_naming_the_field(alice, mongo_db, field, value):
    for response in (alice.put(PATH, {field: value}), alice.patch(PATH, {field: value})):
        assert response.status_code == 422
        body = response.get_json()
        assert body["code"] == "validation_error" and field in body["errors"]
    assert mongo_db.preferences.count_documents({}) == 0


@pytest.mark.parametrize("body", [{"theme": 5}, {"dashboard_widgets": "accounts"},
                                  {"language": ["en"]}, [], "dark", {"unknown_field": 1}])
def test_wrong_types_are_422_and_write_nothing(alice, mongo_db, body):
    alice.patch(PATH, {"theme": "dark"})
    for response in (alice.put(PATH, body), alice.patch(PATH, body)):
        assert response.status_code == 422, response.get_json()
    assert alice.get(PATH).get_json() == {**DEFAULT_PREFERENCES, "theme": "dark"}


def test_malformed_json_is_400(alice, mongo_db):
    for method in ("PUT", "PATCH"):
        response = alice.raw(method, PATH, b'{"theme": "dark",')
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert mongo_db.preferences.count_documents({}) == 0


def test_merge_patch_media_type_is_accepted(alice):
    response = alice.raw("PATCH", PATH, b'{"theme": "dark"}',
                         **{"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200 and response.get_json()["theme"] == "dark"


def test_customers_see_only_their_own_document(alice, bob):
    alice.patch(PATH, {"theme": "dark"})
    assert bob.get(PATH).get_json()["theme"] == "system"


def test_a_token_without_a_customer_is_401(client):
    assert client.get(PATH).status_code == 401
    assert client.get(PATH, headers=auth_header("preferences")).status_code == 401


def test_a_body_that_is_not_json_is_400_or_415_and_resets_nothing(alice):
    alice.patch(PATH, {"theme": "dark"})
    for method in ("PUT", "PATCH"):
        response = alice.client.open(PATH, method=method, data="theme=light",
                                     headers=alice.headers(**{"Content-Type": "text/plain"}))
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
        response = alice.client.open(PATH, method=method, data='{"theme": "light"}',
                                     headers=alice.headers(**{"Content-Type": "text/plain"}))
        assert response.status_code == 415
        assert alice.client.open(PATH, method=method, headers=alice.headers()).status_code == 415
        assert alice.raw(method, PATH, b"").status_code == 400
    assert alice.get(PATH).get_json()["theme"] == "dark"
