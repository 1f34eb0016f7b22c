"""The integrity check's rules for the international kinds: FX clearing against the
conversions, the states of external transfers, holds captured within their amount. Each
passes on a ledger that went through the API and catches damage done behind its back."""
import pytest
from sqlalchemy import text

from services.transactions.tests.factories import admin_headers, open_account, transfer
from services.transactions.tests.test_external_transfers import GERMAN, send, settle
from services.transactions.tests.test_fx_transfers import put_fee, put_rate
from services.transactions.tests.test_holds import create_hold
from services.transactions.tests.test_ledger_check import check_now, checks_failed

GUARDED = ("ledger_accounts", "journal_entries", "postings", "external_transfers", "holds")


def tamper(engine, statement, **params):
    with engine.begin() as connection:
        connection.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # no deferred checks pending at the end
        for table in GUARDED:
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        for one in statement.split(";"):
            connection.execute(text(one), params)
        for table in GUARDED:
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


@pytest.fixture
def international(client, funded):
    """A conversion, a reversed conversion, a pending, a settled and a returned external
    transfer, a captured and a released hold: every new kind, all through the API."""
    alice, bob = funded
    usd = open_account(client, "bob", currency="USD")
    put_rate(client, "EUR", "USD", "1.0842")
    put_fee(client, "fx", "0.50", "0.50", "EUR")
    put_fee(client, "international", "1.00", "1.00", "EUR")
    converted = transfer(client, "alice", alice, usd, "10.00").get_json()
    undone = transfer(client, "alice", alice, usd, "5.00").get_json()
    assert client.post(f"/api/v1/transfers/{undone['id']}/reverse", json={},
                       headers=admin_headers()).status_code == 201
    pending = send(client, "alice", alice, GERMAN, "3.00").get_json()
    settled = send(client, "alice", alice, GERMAN, "4.00").get_json()
    returned = send(client, "alice", alice, GERMAN, "5.00").get_json()
    assert settle(client, settled["id"]).status_code == 200
    assert settle(client, returned["id"], "return").status_code == 200
    captured = create_hold(client, alice, "6.00").get_json()
    assert client.post(f"/api/v1/holds/{captured['id']}/capture", json={"amount": "4.00"},
                       headers=admin_headers()).status_code == 201
    released = create_hold(client, alice, "2.00").get_json()
    assert client.post(f"/api/v1/holds/{released['id']}/release", headers=admin_headers()).status_code == 200
    return {"converted": converted["id"], "pending": pending["id"], "settled": settled["id"],
            "returned": returned["id"], "captured": captured["id"], "released": released["id"]}


def test_the_new_kinds_pass_when_made_through_the_api(client, international):
    report = check_now(client)
    assert report["ok"], report["violations"]


def test_fx_clearing_that_disagrees_with_the_conversions_is_caught(client, international, owner_engines):
    # Both sides moved together: every posting still sums to its balance, only the header
    # comparison sees that the clearing no longer holds what the conversions left there.
    tamper(owner_engines["transactions"],
           "UPDATE ledger_accounts SET balance = balance + 7 WHERE id = 'internal:fx_clearing:USD'")
    tamper(owner_engines["transactions"],
           "UPDATE ledger_accounts SET balance = balance - 7 WHERE id = 'internal:settlement:USD'")
    report = check_now(client)
    assert "fx_clearing_differs_from_conversions" in checks_failed(report)
    assert [v["subject"] for v in report["violations"]
            if v["check"] == "fx_clearing_differs_from_conversions"] == ["USD"]


@pytest.mark.parametrize("damage, subject", [
    ("UPDATE external_transfers SET status = 'pending', return_entry_id = NULL, decided_at = NULL "
     "WHERE entry_id = :returned", "returned"),                    # pending, yet reversed
    ("ALTER TABLE external_transfers DROP CONSTRAINT external_settled_has_entry; "
     "UPDATE external_transfers SET status = 'posted', decided_at = now() WHERE entry_id = :pending",
     "pending"),                                                   # posted without a settlement
    ("UPDATE external_transfers SET status = 'returned', return_entry_id = :settled, decided_at = now() "
     "WHERE entry_id = :pending",
     "pending"),                                                   # returned without its reversal
    ("DELETE FROM external_transfers WHERE entry_id = :pending", "pending"),
])
def test_an_external_transfer_in_a_state_its_entries_deny_is_caught(client, international, owner_engines,
                                                                     damage, subject):
    tamper(owner_engines["transactions"], damage, settled=international["settled"],
           pending=international["pending"], returned=international["returned"])
    report = check_now(client)
    found = [v for v in report["violations"] if v["check"] == "external_transfer_state_differs"]
    assert international[subject] in {v["subject"] for v in found}, report["violations"]


def test_a_settlement_of_no_external_transfer_is_caught(client, international, owner_engines):
    # Pending again, its link to the settlement gone: the settlement is of no transfer.
    tamper(owner_engines["transactions"],
           "UPDATE external_transfers SET status = 'pending', settlement_entry_id = NULL, decided_at = NULL "
           "WHERE entry_id = :id", id=international["settled"])
    details = {v["detail"] for v in check_now(client)["violations"]}
    assert "a settlement of no external transfer" in details


# The database refuses each of these (CHECKs of migration 0009): the constraint goes first.
@pytest.mark.parametrize("damage", [
    "ALTER TABLE holds DROP CONSTRAINT hold_captured_within_amount; "
    "UPDATE holds SET captured_amount = amount + 1 WHERE id = :captured",
    "UPDATE holds SET captured_amount = 100 WHERE id = :captured",         # its entry posted 400
    "ALTER TABLE holds DROP CONSTRAINT hold_captured_amount_when_captured; "
    "UPDATE holds SET captured_amount = 100 WHERE id = :released",
])
def test_a_hold_captured_beyond_its_amount_or_its_entry_is_caught(client, international, owner_engines, damage):
    tamper(owner_engines["transactions"], damage, captured=international["captured"],
           released=international["released"])
    report = check_now(client)
    assert "hold_captured_beyond_amount" in checks_failed(report), report["violations"]
