"""The risk rules on the real ledger: each rule fires at its threshold and not just under it,
the three outcomes (flag posts, review holds, reject refuses) with their events and stored
answers, the review queue's decisions (final, concurrent approvals post once, the checks of
the moment), and admins' rule changes (audited; bad input changes nothing)."""
import pytest
from sqlalchemy import text

from services.transactions.tests.factories import (admin_headers, at_once, balance, change_status, customer_headers,
                                                   deposit, open_account, transfer)
from services.transactions.tests.test_external_transfers import GERMAN, send
from services.transactions.tests.test_fx_transfers import put_rate

FRANCE = "FR1420041010050500013M02606"


@pytest.fixture
def rich(client):
    """Alice has 30,000.00 EUR and has paid Bob before (so Bob is no new payee)."""
    alice, bob = open_account(client, "alice"), open_account(client, "bob")
    deposit(client, alice, "30000.00")
    assert transfer(client, "alice", alice, bob, "1.00").status_code == 201
    return alice, bob


def put_rule(client, code, status=200, headers=None, **body):
    response = client.put(f"/api/v1/admin/risk-rules/{code}", headers=headers or admin_headers(), json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def events(owner_engines, event_type):
    with owner_engines["transactions"].connect() as connection:
        return [row.payload["data"] for row in connection.execute(text(
            "SELECT payload FROM outbox_events WHERE event_type = :t ORDER BY id"), {"t": event_type})]


def scalar(owner_engines, sql, **params):
    with owner_engines["transactions"].connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def risk_of(response):
    body = response.get_json()
    return response.status_code, body.get("risk", {}).get("outcome"), body.get("risk", {}).get("rules")


# --- each rule at its threshold ---------------------------------------------------------------

def test_large_amount_reviews_above_its_limit_only(client, rich):
    alice, bob = rich
    assert risk_of(transfer(client, "alice", alice, bob, "10000.00")) == (201, "allow", [])
    assert risk_of(transfer(client, "alice", alice, bob, "10000.01")) == (202, "review", ["large_amount"])


def test_large_amount_converts_another_currency_at_the_rate_in_force(client):
    usd, bob_usd = open_account(client, "alice", "USD"), open_account(client, "bob", "USD")
    deposit(client, usd, "30000.00", "USD")
    put_rate(client, "EUR", "USD", "1.2500")
    transfer(client, "alice", usd, bob_usd, "1.00", "USD")
    assert risk_of(transfer(client, "alice", usd, bob_usd, "12500.00", "USD"))[1] == "allow"  # 10,000.00 EUR
    assert risk_of(transfer(client, "alice", usd, bob_usd, "12500.02", "USD"))[2] == ["large_amount"]


def test_velocity_count_flags_the_transfer_past_the_count(client, rich):
    alice, bob = rich
    put_rule(client, "velocity_count", params={"count": 3, "window_seconds": 3600})
    outcomes = [risk_of(transfer(client, "alice", alice, bob, f"{i}.00")) for i in (2, 3)]
    assert outcomes == [(201, "allow", []), (201, "allow", [])]      # with the first: three
    assert risk_of(transfer(client, "alice", alice, bob, "4.00")) == (201, "flag", ["velocity_count"])


def test_velocity_amount_reviews_what_takes_the_window_past_its_amount(client, rich):
    alice, bob = rich
    put_rule(client, "velocity_amount", params={"amount": "100.00", "currency": "EUR", "window_seconds": 60})
    assert risk_of(transfer(client, "alice", alice, bob, "99.00"))[1] == "allow"   # 1.00 + 99.00 = 100.00
    assert risk_of(transfer(client, "alice", alice, bob, "0.01")) == (202, "review", ["velocity_amount"])


def test_new_payee_large_reviews_a_first_payment_above_its_limit(client, rich):
    alice, _ = rich
    carol, dave = open_account(client, "carol"), open_account(client, "dave")
    assert risk_of(transfer(client, "alice", alice, carol, "2000.00"))[1] == "allow"
    assert risk_of(transfer(client, "alice", alice, dave, "2000.01")) == (202, "review", ["new_payee_large"])
    assert risk_of(transfer(client, "alice", alice, carol, "2500.00"))[1] == "allow"   # carol is known now


def test_duplicate_transfer_flags_the_same_payee_and_amount_again(client, rich):
    alice, bob = rich
    assert risk_of(transfer(client, "alice", alice, bob, "7.00"))[1] == "allow"
    assert risk_of(transfer(client, "alice", alice, bob, "7.01"))[1] == "allow"
    assert risk_of(transfer(client, "alice", alice, bob, "7.00")) == (201, "flag", ["duplicate_transfer"])


def test_unusual_country_flags_the_first_payment_to_a_country(client, rich):
    alice, _ = rich
    first = send(client, "alice", alice, GERMAN, "20.00")
    assert risk_of(first) == (201, "flag", ["unusual_country"])
    assert risk_of(send(client, "alice", alice, "DE02120300000000202051", "21.00"))[1] == "allow"  # DE known
    assert risk_of(send(client, "alice", alice, FRANCE, "22.00"))[2] == ["unusual_country"]


def test_own_account_moves_are_not_screened(client, rich):
    alice, _ = rich
    savings = open_account(client, "alice")
    assert risk_of(transfer(client, "alice", alice, savings, "20000.00")) == (201, "allow", [])


# --- the three outcomes -----------------------------------------------------------------------

def test_a_flagged_transfer_posts_records_and_tells(client, rich, owner_engines):
    alice, bob = rich
    transfer(client, "alice", alice, bob, "5.00")
    response = transfer(client, "alice", alice, bob, "5.00")
    assert response.status_code == 201 and balance(client, bob) == "11.00"
    posted = events(owner_engines, "transfer.posted")[-1]
    assert posted["flags"] == ["duplicate_transfer"]
    flagged = events(owner_engines, "transfer.flagged")
    assert [(e["transfer_id"], e["customer_id"], e["rules"], e["amount"]) for e in flagged] == [
        (response.get_json()["id"], "alice", ["duplicate_transfer"], "5.00")]
    assert scalar(owner_engines, "SELECT outcome FROM risk_decisions") == "flag"


def test_a_reject_rule_refuses_with_its_codes_stored_under_the_key(client, rich, owner_engines):
    alice, bob = rich
    put_rule(client, "large_amount", action="reject")
    before = balance(client, alice)
    first = transfer(client, "alice", alice, bob, "15000.00", key="k-reject")
    assert first.status_code == 422 and first.content_type == "application/problem+json"
    body = first.get_json()
    assert (body["code"], body["rules"]) == ("transfer_rejected", ["large_amount", "new_payee_large"][:1])
    assert balance(client, alice) == before
    again = transfer(client, "alice", alice, bob, "15000.00", key="k-reject")
    assert again.get_json() == body and again.headers["Idempotent-Replayed"] == "true"
    assert [e["rules"] for e in events(owner_engines, "transfer.rejected")] == [["large_amount"]]
    assert scalar(owner_engines, "SELECT count(*) FROM risk_decisions WHERE outcome = 'reject'") == 1


def test_a_review_holds_the_amount_and_answers_202_replayed_under_its_key(client, rich, owner_engines):
    alice, bob = rich
    response = transfer(client, "alice", alice, bob, "12000.00", key="k-review")
    assert response.status_code == 202
    body = response.get_json()
    assert (body["status"], body["risk"]["rules"], body["amount"]) == ("pending_review", ["large_amount"],
                                                                       "12000.00")
    assert balance(client, alice) == "29999.00"                       # nothing posted
    hold = client.get(f"/api/v1/holds/{body['hold_id']}", headers=customer_headers("alice")).get_json()
    assert (hold["status"], hold["amount"]) == ("active", "12000.00")
    assert transfer(client, "alice", alice, bob, "12000.00", key="k-review").get_json() == body
    read = client.get(f"/api/v1/transfers/{body['id']}", headers=customer_headers("alice"))
    assert read.get_json()["status"] == "pending_review"
    assert client.get(f"/api/v1/transfers/{body['id']}", headers=customer_headers("bob")).status_code == 404
    # Only the review frees the money under review (holds are released by admins).
    released = client.post(f"/api/v1/holds/{body['hold_id']}/release", headers=admin_headers())
    assert released.status_code == 409 and released.get_json()["code"] == "invalid_state"
    assert [e["transfer_id"] for e in events(owner_engines, "transfer.review")] == [body["id"]]


def test_a_review_needs_the_funds_for_its_hold(client, rich):
    alice, bob = rich
    response = transfer(client, "alice", alice, bob, "29999.01")
    assert response.status_code == 422 and response.get_json()["code"] == "insufficient_funds"


# --- the review queue -------------------------------------------------------------------------

def _held(client, alice, bob, amount="12000.00"):
    body = transfer(client, "alice", alice, bob, amount).get_json()
    queue = client.get("/api/v1/admin/reviews?status=open", headers=admin_headers()).get_json()["items"]
    return body, next(item for item in queue if item["transfer_id"] == body["id"])


def test_approving_posts_the_transfer_under_its_id_once(client, rich, owner_engines):
    alice, bob = rich
    body, review = _held(client, alice, bob)
    assert (review["customer_id"], review["rules"], review["status"]) == ("alice", ["large_amount"], "open")
    approved = client.post(f"/api/v1/admin/reviews/{review['id']}/approve", headers=admin_headers())
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert (approved.get_json()["status"], approved.get_json()["decided_by"]) == ("approved", "admin:admin-1")
    assert balance(client, alice) == "17999.00" and balance(client, bob) == "12001.00"
    read = client.get(f"/api/v1/transfers/{body['id']}", headers=customer_headers("alice")).get_json()
    assert (read["status"], read["amount"]) == ("posted", "12000.00")
    again = client.post(f"/api/v1/admin/reviews/{review['id']}/approve", headers=admin_headers())
    assert again.status_code == 409 and again.get_json()["code"] == "invalid_state"
    assert client.post(f"/api/v1/admin/reviews/{review['id']}/reject", headers=admin_headers()).status_code == 409
    assert events(owner_engines, "transfer.posted")[-1]["transfer_id"] == body["id"]


def test_rejecting_releases_the_hold_and_the_transfer_reads_rejected(client, rich, owner_engines):
    alice, bob = rich
    body, review = _held(client, alice, bob)
    rejected = client.post(f"/api/v1/admin/reviews/{review['id']}/reject", headers=admin_headers())
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    hold = client.get(f"/api/v1/holds/{body['hold_id']}", headers=customer_headers("alice")).get_json()
    assert hold["status"] == "released" and balance(client, bob) == "1.00"
    read = client.get(f"/api/v1/transfers/{body['id']}", headers=customer_headers("alice")).get_json()
    assert read["status"] == "rejected"
    assert events(owner_engines, "transfer.rejected")[-1]["reason"] == "review_rejected"
    assert client.post(f"/api/v1/admin/reviews/{review['id']}/approve", headers=admin_headers()).status_code == 409


def test_an_approval_meets_the_checks_of_the_moment(client, rich):
    alice, bob = rich
    _, review = _held(client, alice, bob)
    change_status(client, bob, "frozen")
    refused = client.post(f"/api/v1/admin/reviews/{review['id']}/approve", headers=admin_headers())
    assert refused.status_code == 409 and refused.get_json()["code"] == "account_frozen"
    assert client.get(f"/api/v1/admin/reviews/{review['id']}", headers=admin_headers()).get_json()["status"] == "open"
    change_status(client, bob, "active")
    assert client.post(f"/api/v1/admin/reviews/{review['id']}/approve", headers=admin_headers()).status_code == 200


def test_four_concurrent_approvals_post_once(client, rich, transactions_app, owner_engines):
    alice, bob = rich
    body, review = _held(client, alice, bob)
    answers = at_once(transactions_app, lambda own: own.post(f"/api/v1/admin/reviews/{review['id']}/approve",
                                                            headers=admin_headers()).status_code)
    assert sorted(answers) == [200, 409, 409, 409]
    assert scalar(owner_engines, "SELECT count(*) FROM journal_entries WHERE id = :id", id=body["id"]) == 1
    assert balance(client, bob) == "12001.00"


def test_a_decided_review_cannot_be_changed_in_the_database(client, rich, owner_engines):
    alice, bob = rich
    _, review = _held(client, alice, bob)
    client.post(f"/api/v1/admin/reviews/{review['id']}/reject", headers=admin_headers())
    with pytest.raises(Exception, match="final"):
        with owner_engines["transactions"].begin() as connection:
            connection.execute(text("UPDATE risk_reviews SET status = 'open', decided_by = NULL, decided_at = NULL "
                                    "WHERE id = :id"), {"id": review["id"]})


# --- the rules as admins set them ------------------------------------------------------------

def test_admins_read_and_change_rules_audited(client, owner_engines):
    rules = client.get("/api/v1/admin/risk-rules", headers=admin_headers()).get_json()["items"]
    assert [rule["code"] for rule in rules] == ["large_amount", "velocity_count", "velocity_amount",
                                                 "new_payee_large", "duplicate_transfer", "unusual_country"]
    assert rules[0] == {"code": "large_amount", "enabled": True, "action": "review",
                        "params": {"limit": "10000.00", "currency": "EUR"}}
    changed = put_rule(client, "large_amount", enabled=False, params={"limit": "500", "currency": "JPY"})
    assert changed == {"code": "large_amount", "enabled": False, "action": "review",
                       "params": {"limit": "500", "currency": "JPY"}}
    with owner_engines["transactions"].connect() as connection:
        trail = connection.execute(text("SELECT code, enabled, changed_by FROM risk_rule_changes "
                                        "ORDER BY id DESC LIMIT 1")).one()
    assert tuple(trail) == ("large_amount", False, "admin:admin-1")


@pytest.mark.parametrize("code, body, status", [
    ("no_such_rule", {"enabled": False}, 404),
    ("velocity_count", {"params": {"count": "20", "window_seconds": 60}}, 422),
    ("velocity_count", {"params": {"count": -1, "window_seconds": 60}}, 422),
    ("velocity_count", {"params": {"count": 5}}, 422),
    ("large_amount", {"params": {"limit": "-5.00", "currency": "EUR"}}, 422),
    ("large_amount", {"params": {"limit": "5.001", "currency": "EUR"}}, 422),
    ("large_amount", {"params": {"limit": "5.00", "currency": "eur"}}, 422),
    ("large_amount", {"params": {"limit": "5.00", "currency": "EUR", "extra": 1}}, 422),
    ("large_amount", {"action": "block"}, 422),
    ("large_amount", {"enabled": "yes"}, 422),
    ("unusual_country", {"params": {"window_seconds": 5}}, 422),
    ("duplicate_transfer", {"params": {"window_seconds": 10**12}}, 422),
])
def test_bad_rule_changes_are_refused_and_change_nothing(client, code, body, status, owner_engines):
    before = client.get("/api/v1/admin/risk-rules", headers=admin_headers()).get_json()
    put_rule(client, code, status=status, **body)
    assert client.get("/api/v1/admin/risk-rules", headers=admin_headers()).get_json() == before
    assert scalar(owner_engines, "SELECT count(*) FROM risk_rule_changes WHERE changed_by <> 'test' "
                                 "AND changed_at > now() - interval '5 seconds'") == 0


def test_customers_may_not_call_the_admin_routes(client, rich):
    alice, bob = rich
    _, review = _held(client, alice, bob)
    for method, path in [("get", "/api/v1/admin/risk-rules"), ("put", "/api/v1/admin/risk-rules/large_amount"),
                         ("get", "/api/v1/admin/reviews"), ("post", f"/api/v1/admin/reviews/{review['id']}/approve"),
                         ("post", f"/api/v1/admin/reviews/{review['id']}/reject")]:
        response = getattr(client, method)(path, headers=customer_headers("alice"), json={"enabled": False})
        assert response.status_code == 403, (method, path)
    assert client.get(f"/api/v1/admin/reviews/{review['id']}", headers=admin_headers()).get_json()["status"] == "open"


def test_a_disabled_rule_does_not_fire(client, rich):
    alice, bob = rich
    put_rule(client, "large_amount", enabled=False)
    assert risk_of(transfer(client, "alice", alice, bob, "15000.00")) == (201, "allow", [])
