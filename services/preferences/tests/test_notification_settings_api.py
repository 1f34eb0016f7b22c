"""GET / PUT / PATCH /api/v1/notification-settings on the real MongoDB-wire server."""
import pytest

from services.preferences.defaults import DEFAULT_NOTIFICATION_SETTINGS

PATH = "/api/v1/notification-settings"


def test_defaults_before_anything_is_stored(alice):
    response = alice.get(PATH)
    assert response.status_code == 200 and response.headers["ETag"] == '"v0"'
    assert response.get_json() == DEFAULT_NOTIFICATION_SETTINGS


def test_patch_changes_one_rule_and_keeps_the_rest(alice):
    response = alice.patch(PATH, {"events": {"low_balance": {"threshold": "25.50",
                                                             "channels": ["sms"]}}})
    assert response.status_code == 200
    events = response.get_json()["events"]
    assert events["low_balance"] == {"enabled": True, "threshold": "25.50", "channels": ["sms"]}
    defaults = DEFAULT_NOTIFICATION_SETTINGS["events"]
    assert events["large_transaction"] == defaults["large_transaction"]
    assert alice.get(PATH).get_json()["events"] == events


def test_put_replaces_the_whole_document(alice):
    alice.patch(PATH, {"quiet_hours": {"enabled": True}})
    body = {"channels": {"email": {"address": "alice@example.com"}},
            "events": {"bill_due": {"enabled": False}}}
    document = alice.put(PATH, body).get_json()
    assert document["quiet_hours"] == DEFAULT_NOTIFICATION_SETTINGS["quiet_hours"]
    assert document["channels"]["email"] == {"address": "alice@example.com", "verified": False}
    assert document["events"]["bill_due"] == {"enabled": False, "channels": ["email"]}


def test_verified_is_owned_by_the_server_and_reset_when_the_address_changes(alice, mongo_db):
    alice.patch(PATH, {"channels": {"sms": {"address": "+4915112345678", "verified": True}}})
    assert alice.get(PATH).get_json()["channels"]["sms"]["verified"] is False
    mongo_db.notification_settings.update_one({"customer_id": alice.customer_id},
                                              {"$set": {"body.channels.sms.verified": True}})
    kept = alice.patch(PATH, {"events": {"bill_due": {"enabled": False}}}).get_json()
    assert kept["channels"]["sms"] == {"address": "+4915112345678", "verified": True}
    changed = alice.patch(PATH, {"channels": {"sms": {"address": "+4915100000000"}}}).get_json()
    assert changed["channels"]["sms"] == {"address": "+4915100000000", "verified": False}


@pytest.mark.parametrize("body, field", [
    ({"events": {"low_balance": {"threshold": "-1"}}}, "events.low_balance.threshold"),
    ({"events": {"low_balance": {"threshold": 100.5}}}, "events.low_balance.threshold"),
    ({"events": {"large_transaction": {"threshold": "1e3"}}}, "events.large_transaction.threshold"),
    ({"events": {"low_balance": {"channels": ["fax"]}}}, "events.low_balance.channels.0"),
    ({"events": {"low_balance": {"enabled": "maybe"}}}, "events.low_balance.enabled"),
    ({"events": {"payday": {"enabled": True}}}, "events.payday"),
    ({"channels": {"email": {"address": "not-an-email"}}}, "channels.email.address"),
    ({"channels": {"sms": {"address": "0151 123"}}}, "channels.sms.address"),
    ({"quiet_hours": {"timezone": "Europe/Atlantis"}}, "quiet_hours.timezone"),
    ({"quiet_hours": {"start": "25:00"}}, "quiet_hours.start"),
])
def test_bad_values_are_422_naming_the_field_and_write_nothing(alice, mongo_db, body, field):
    for response in (alice.patch(PATH, body), alice.put(PATH, body)):
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"], response.get_json()
    assert mongo_db.notification_settings.count_documents({}) == 0


def test_a_stale_if_match_is_412(alice):
    etag = alice.patch(PATH, {"quiet_hours": {"enabled": True}}).headers["ETag"]
    alice.patch(PATH, {"quiet_hours": {"start": "23:00"}})
    response = alice.patch(PATH, {"quiet_hours": {"enabled": False}}, **{"If-Match": etag})
    assert response.status_code == 412 and response.get_json()["code"] == "precondition_failed"
    assert alice.get(PATH).get_json()["quiet_hours"]["enabled"] is True
