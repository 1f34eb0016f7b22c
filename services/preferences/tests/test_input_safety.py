"""No operator injection: `$` or dotted keys anywhere are 422; size and depth are capped."""
import json

import pytest

from services.preferences.input_guard import MAX_BODY_BYTES, MAX_DEPTH

PATHS = ["/api/v1/preferences", "/api/v1/notification-settings"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("body, bad_key", [
    ({"$set": {"theme": "dark"}}, "$set"),
    ({"theme.dark": 1}, "theme.dark"),
    ({"events": {"low_balance": {"$gt": ""}}}, "events/low_balance/$gt"),
    ({"dashboard_widgets": [{"$where": "1"}]}, "dashboard_widgets/0/$where"),
    ({"quiet_hours": {"a.b": None}}, "quiet_hours/a.b"),
])
def test_operator_like_keys_anywhere_are_422(alice, mongo_db, path, body, bad_key):
    for response in (alice.put(path, body), alice.patch(path, body)):
        assert response.status_code == 422
        assert bad_key in response.get_json()["errors"]
    assert mongo_db.preferences.count_documents({}) == 0
    assert mongo_db.notification_settings.count_documents({}) == 0


@pytest.mark.parametrize("path", PATHS)
def test_nesting_deeper_than_the_cap_is_422_even_when_huge(alice, mongo_db, path):
    too_deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    parser_bomb = "[" * 10_000 + "]" * 10_000  # would exhaust a recursive parser
    for body in (json.dumps({"theme": json.loads(too_deep)}), parser_bomb):
        response = alice.raw("PATCH", path, body.encode())
        assert response.status_code in (413, 422), response.get_json()
    response = alice.raw("PATCH", path, ("[" * 5000 + "]" * 5000).encode())
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"
    assert mongo_db[path.rsplit("/", 1)[1].replace("-", "_")].count_documents({}) == 0


def test_bodies_over_the_size_cap_are_413(alice, mongo_db):
    body = json.dumps({"theme": "x" * MAX_BODY_BYTES}).encode()
    response = alice.raw("PUT", "/api/v1/preferences", body)
    assert response.status_code == 413 and response.get_json()["code"] == "payload_too_large"
    assert mongo_db.preferences.count_documents({}) == 0


def test_string_values_that_look_like_operators_are_just_invalid_values(alice, mongo_db):
    response = alice.patch("/api/v1/preferences", {"theme": "$where"})
    assert response.status_code == 422 and "theme" in response.get_json()["errors"]


def test_a_notification_id_or_cursor_never_becomes_a_query(alice):
    assert alice.post("/api/v1/notifications/%7B%22%24ne%22%3A1%7D/read").status_code == 404
    response = alice.get('/api/v1/notifications?cursor={"$gt":""}')
    assert response.status_code == 422 and "cursor" in response.get_json()["errors"]
