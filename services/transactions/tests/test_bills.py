"""Bills: the API (create, list, change, delete, pay now), bad input, and the runner's
autopay, reminders and overdue notices, each once."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.transactions.domain.workflows.bills import run_due_bills, utc_today

from .factories import at_once, balance, change_status, customer_headers, deposit, open_account

TODAY = utc_today()


@pytest.fixture(autouse=True)
def _pinned_today(monkeypatch):
    """The service's 'today' is the test's TODAY, even when the run crosses midnight (UTC)."""
    from services.transactions.api import balance_history as history_api
    from services.transactions.api import bills as bills_api
    from services.transactions.domain.workflows import bills as bills_domain
    from services.transactions.domain.workflows import schedules as schedules_domain
    for module, name in ((schedules_domain, "utc_today"), (bills_domain, "utc_today"), (bills_api, "utc_today"),
                         (history_api, "_today")):
        monkeypatch.setattr(module, name, lambda: TODAY)
BILLER = "DE89370400440532013000"


def _bill(client, customer, account, amount="42.10", due=None, **extra):
    body = {"biller_name": "Power Co", "biller_iban": BILLER, "amount_due": amount, "currency": "EUR",
            "due_date": (due or TODAY + timedelta(days=10)).isoformat(), "pay_from_account_id": account, **extra}
    return client.post("/api/v1/bills", json=body, headers=customer_headers(customer))


def _run(app, day):
    with app.app_context():
        return run_due_bills(app, app.extensions["sql_sessions"], day)


def _events(owner_engines, event_type):
    with owner_engines["transactions"].connect() as connection:
        return connection.execute(text("SELECT payload FROM outbox_events WHERE event_type = :t"),
                                  {"t": event_type}).scalars().all()


def test_create_list_change_and_delete(client, funded):
    alice, _ = funded
    created = _bill(client, "alice", alice)
    assert created.status_code == 201, created.get_json()
    bill = created.get_json()
    assert (bill["status"], bill["amount_due"], bill["autopay"], bill["reminder_days_before"]) == \
        ("upcoming", "42.10", False, 3)
    path = f"/api/v1/bills/{bill['id']}"
    changed = client.patch(path, json={"amount_due": "50.00", "autopay": True}, headers=customer_headers("alice"))
    assert changed.status_code == 200 and changed.get_json()["amount_due"] == "50.00"
    assert client.patch(path, json={"amount_due": "1.001"}, headers=customer_headers("alice")).status_code == 422
    assert [b["id"] for b in client.get("/api/v1/bills", headers=customer_headers("alice")).get_json()["items"]] \
        == [bill["id"]]
    assert client.delete(path, headers=customer_headers("alice")).status_code == 200
    assert client.get(path, headers=customer_headers("alice")).status_code == 404
    assert client.get("/api/v1/bills", headers=customer_headers("alice")).get_json()["items"] == []


def test_an_overdue_bill_shows_overdue(client, funded):
    alice, _ = funded
    bill = _bill(client, "alice", alice, due=TODAY - timedelta(days=1)).get_json()
    assert bill["status"] == "overdue"


@pytest.mark.parametrize("change, field", [
    ({"due_date": "2026-13-01"}, "due_date"), ({"due_date": "soon"}, "due_date"),
    ({"due_date": "1900-01-01"}, "due_date"), ({"amount_due": "-1.00"}, "amount_due"),
    ({"amount_due": "0.00"}, "amount_due"), ({"amount_due": "1.001"}, "amount_due"),
    ({"biller_iban": "DE00370400440532013000"}, "biller_iban"), ({"currency": "XXQ"}, "currency"),
    ({"reminder_days_before": 61}, "reminder_days_before"), ({"reminder_days_before": -1}, "reminder_days_before"),
    ({"biller_name": ""}, "biller_name"), ({"autopay": "sometimes"}, "autopay"),
])
def test_bad_bills_are_422_and_write_nothing(client, funded, owner_engines, change, field):
    alice, _ = funded
    response = _bill(client, "alice", alice, **change)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"], response.get_json()
    with owner_engines["transactions"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM bills")).scalar_one() == 0


def test_another_customers_bill_or_account_is_404(client, funded):
    alice, bob = funded
    assert _bill(client, "bob", alice).status_code == 404
    bill = _bill(client, "alice", alice).get_json()
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"/api/v1/bills/{bill['id']}", json={"autopay": True},
                                           headers=customer_headers("bob"))
        assert response.status_code == 404, method
    assert client.post(f"/api/v1/bills/{bill['id']}/pay", headers=customer_headers("bob")).status_code == 404
    assert client.get("/api/v1/bills/nope", headers=customer_headers("alice")).status_code == 404
    usd = open_account(client, "alice", currency="USD")
    assert _bill(client, "alice", usd).get_json()["code"] == "currency_mismatch"


def test_pay_now_once_and_replayed(client, funded):
    alice, _ = funded
    bill = _bill(client, "alice", alice).get_json()
    pay = f"/api/v1/bills/{bill['id']}/pay"
    headers = customer_headers("alice", key="pay-1")
    paid = client.post(pay, headers=headers)
    assert paid.status_code == 201, paid.get_json()
    transfer = paid.get_json()
    assert transfer["status"] == "pending" and transfer["to_iban"] == BILLER and transfer["amount"] == "42.10"
    replay = client.post(pay, headers=headers)
    assert replay.status_code == 201 and replay.get_json() == transfer
    again = client.post(pay, headers=customer_headers("alice"))
    assert again.status_code == 409 and again.get_json()["code"] == "bill_already_paid"
    shown = client.get(f"/api/v1/bills/{bill['id']}", headers=customer_headers("alice")).get_json()
    assert shown["status"] == "paid" and shown["paid_transfer_id"] == transfer["id"]
    assert balance(client, alice) == "57.90"
    for method, body in (("patch", {"autopay": True}), ("delete", None)):
        response = getattr(client, method)(f"/api/v1/bills/{bill['id']}", json=body, headers=customer_headers("alice"))
        assert response.status_code == 409 and response.get_json()["code"] == "bill_already_paid"
    assert client.post(pay, headers={k: v for k, v in customer_headers("alice").items()
                                     if k != "Idempotency-Key"}).status_code == 400


def test_pay_now_without_funds_is_refused_and_the_bill_stays_unpaid(client, funded):
    alice, _ = funded
    bill = _bill(client, "alice", alice, amount="500.00").get_json()
    refused = client.post(f"/api/v1/bills/{bill['id']}/pay", headers=customer_headers("alice"))
    assert refused.status_code == 422 and refused.get_json()["code"] == "insufficient_funds"
    assert client.get(f"/api/v1/bills/{bill['id']}", headers=customer_headers("alice")).get_json()["status"] \
        == "upcoming"


def test_autopay_pays_on_the_due_date_once(client, funded, transactions_app):
    alice, _ = funded
    bill = _bill(client, "alice", alice, autopay=True, due=TODAY + timedelta(days=2)).get_json()
    assert _run(transactions_app, TODAY)["bills_paid"] == 0  # not yet due
    due = TODAY + timedelta(days=2)
    assert _run(transactions_app, due)["bills_paid"] == 1
    assert _run(transactions_app, due)["bills_paid"] == 0
    assert _run(transactions_app, due + timedelta(days=1))["bills_paid"] == 0
    shown = client.get(f"/api/v1/bills/{bill['id']}", headers=customer_headers("alice")).get_json()
    assert shown["status"] == "paid" and shown["paid_transfer_id"]
    assert balance(client, alice) == "57.90"


def test_a_failed_autopay_is_recorded_and_tried_once_a_day(client, funded, transactions_app):
    alice, _ = funded
    bill = _bill(client, "alice", alice, amount="150.00", autopay=True, due=TODAY).get_json()
    assert _run(transactions_app, TODAY)["bills_failed"] == 1
    assert _run(transactions_app, TODAY)["bills_failed"] == 0  # not again the same day
    shown = client.get(f"/api/v1/bills/{bill['id']}", headers=customer_headers("alice")).get_json()
    assert shown["last_error"] == "insufficient_funds" and shown["status"] == "upcoming"
    deposit(client, alice, "100.00")
    assert _run(transactions_app, TODAY + timedelta(days=1))["bills_paid"] == 1
    assert balance(client, alice) == "50.00"


def test_a_frozen_account_fails_autopay_and_stops_after_the_grace_days(client, funded, transactions_app):
    alice, _ = funded
    _bill(client, "alice", alice, autopay=True, due=TODAY)
    change_status(client, alice, "frozen")
    assert _run(transactions_app, TODAY)["bills_failed"] == 1
    assert _run(transactions_app, TODAY + timedelta(days=10))["bills_failed"] == 0


def test_reminder_and_overdue_notices_once_each(client, funded, transactions_app, owner_engines):
    alice, _ = funded
    due = TODAY + timedelta(days=5)
    bill = _bill(client, "alice", alice, due=due, reminder_days_before=2).get_json()
    assert _run(transactions_app, TODAY)["bill_reminders"] == 0  # five days ahead: not yet
    assert _run(transactions_app, due - timedelta(days=2))["bill_reminders"] == 1
    assert _run(transactions_app, due - timedelta(days=1))["bill_reminders"] == 0
    assert _run(transactions_app, due + timedelta(days=1))["bills_overdue"] == 1
    assert _run(transactions_app, due + timedelta(days=2))["bills_overdue"] == 0
    [reminder] = _events(owner_engines, "bill.due")
    [overdue] = _events(owner_engines, "bill.overdue")
    for event in (reminder, overdue):
        data = event.get("data", event)
        assert data["bill_id"] == bill["id"] and data["customer_id"] == "alice" and data["amount_due"] == "42.10"


def test_a_paid_or_deleted_bill_gets_no_notice(client, funded, transactions_app):
    alice, _ = funded
    paid = _bill(client, "alice", alice, due=TODAY + timedelta(days=1)).get_json()
    client.post(f"/api/v1/bills/{paid['id']}/pay", headers=customer_headers("alice"))
    gone = _bill(client, "alice", alice, due=TODAY + timedelta(days=1)).get_json()
    client.delete(f"/api/v1/bills/{gone['id']}", headers=customer_headers("alice"))
    report = _run(transactions_app, TODAY + timedelta(days=3))
    assert report["bill_reminders"] == 0 and report["bills_overdue"] == 0


def test_the_database_keeps_a_paid_bill_paid(client, funded, owner_engines):
    alice, _ = funded
    bill = _bill(client, "alice", alice).get_json()
    client.post(f"/api/v1/bills/{bill['id']}/pay", headers=customer_headers("alice"))
    for statement in ("UPDATE bills SET paid_transfer_id = NULL, paid_at = NULL WHERE id = :id",
                      "UPDATE bills SET amount_due = 1 WHERE id = :id", "DELETE FROM bills WHERE id = :id",
                      "UPDATE bills SET deleted_at = now() WHERE id = :id"):
        with pytest.raises(DBAPIError):
            with owner_engines["transactions"].begin() as connection:
                connection.execute(text(statement), {"id": bill["id"]})
    with pytest.raises(DBAPIError):
        with owner_engines["transactions"].begin() as connection:
            connection.execute(text("INSERT INTO bills (id, customer_id, biller_name, biller_iban, amount_due, "
                                    "currency, due_date, pay_from_account_id) VALUES (:id, 'alice', 'X', 'DE89', "
                                    "0, 'EUR', '2027-01-01', :account)"), {"id": str(uuid.uuid4()), "account": alice})


def test_one_key_sent_four_times_at_once_pays_once(client, funded, transactions_app):
    alice, _ = funded
    bill = _bill(client, "alice", alice).get_json()

    def pay(own):
        response = own.post(f"/api/v1/bills/{bill['id']}/pay", headers=customer_headers("alice", key="same"))
        return response.status_code, response.get_json()

    answers = at_once(transactions_app, pay)
    assert [status for status, _ in answers] == [201] * 4, answers
    assert len({body["id"] for _, body in answers}) == 1
    assert balance(client, alice) == "57.90"
