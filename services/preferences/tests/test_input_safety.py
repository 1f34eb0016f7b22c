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
def test_nesting_deeper_than_the_documents_cap_is_422(alice, mongo_db, path):
    too_deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    response = alice.raw("PATCH", path, json.dumps({"theme": json.loads(too_deep)}).encode())
    assert response.status_code == 422, response.get_json()
    assert mongo_db[path.rsplit("/", 1)[1].replace("-", "_")].count_documents({}) == 0


@pytest.mark.parametrize("path", PATHS)
def test_json_deeper_than_any_body_may_be_is_invalid_body_even_when_huge(alice, mongo_db, path):
    # Past 32 levels (API.md) the common body rules refuse it before any parser recurses.
    for depth in (33, 5000, 10_000):
        response = alice.raw("PATCH", path, ("[" * depth + "]" * depth).encode())
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
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


@pytest.mark.parametrize("path, raw, field", [
    # An unpaired surrogate cannot even be encoded for MongoDB: this was a 500.
    (PATHS[1], r'{"channels": {"email": {"address": "a\ud800b@example.com"}}}',
     "channels.email.address"),
    (PATHS[1], r'{"channels": {"email": {"address": "a\u0000b@example.com"}}}',
     "channels.email.address"),
    (PATHS[1], r'{"channels": {"sms": {"address": "+4915112345678\n"}}}', "channels.sms.address"),
    (PATHS[0], r'{"dashboard_widgets": ["accounts", "\udfff"]}', "dashboard_widgets.1"),
    (PATHS[0], r'{"language": "en\n"}', "language"),
])
def test_text_that_cannot_be_stored_is_422_naming_the_field(alice, mongo_db, path, raw, field):
    for method in ("PUT", "PATCH"):
        response = alice.raw(method, path, raw.encode())
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"], response.get_json()
    assert mongo_db.preferences.count_documents({}) == 0
    assert mongo_db.notification_settings.count_documents({}) == 0


@pytest.mark.parametrize("body, field", [
    # \d would take these digits of other scripts, and $ a final newline; time.fromisoformat
    # then fails on the stored value while raising notifications.
    ({"quiet_hours": {"start": "1\u0661:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"end": "07:00\n"}}, "quiet_hours.end"),
    ({"events": {"low_balance": {"threshold": "\u0661\u0662"}}}, "events.low_balance.threshold"),
    ({"events": {"large_transaction": {"threshold": "100\n"}}},
     "events.large_transaction.threshold"),
    ({"channels": {"sms": {"address": "+49\u0661\u0662\u0663\u0664\u0665\u0666\u0667"}}},
     "channels.sms.address"),
])
def test_lookalike_digits_and_trailing_newlines_are_422(alice, mongo_db, body, field):
    for response in (alice.put(PATHS[1], body), alice.patch(PATHS[1], body)):
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"], response.get_json()
    assert mongo_db.notification_settings.count_documents({}) == 0
