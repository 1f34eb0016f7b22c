"""Manual journal entries: drafts of two or more balanced lines on the chart, posted (then
immutable) or voided; under an Idempotency-Key; refused with nothing written otherwise."""
import threading
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.transactions.tests.books_support import (admin, customer, create_entry, created_entry,
                                                       entry_body, line, post, rent)


@pytest.fixture
def entry_counts(owner_engines):
    def counts():
        with owner_engines["transactions"].connect() as connection:
            return tuple(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                         for table in ("manual_journal_entries", "manual_journal_lines"))
    return counts


def test_an_entry_is_created_as_a_draft(client):
    response = create_entry(client, rent("10.00"))
    assert response.status_code == 201, response.get_data(as_text=True)
    entry = response.get_json()
    assert entry["status"] == "draft" and entry["effective_date"] == "2026-11-30"
    assert entry["lines"] == [
        {"line_no": 1, "account_code": "5200-EUR", "currency": "EUR", "debit": "10.00", "credit": None},
        {"line_no": 2, "account_code": "1100-EUR", "currency": "EUR", "debit": None, "credit": "10.00"}]
    assert entry["created_by"] == "admin:admin-1" and response.headers["Idempotent-Replayed"] == "false"
    assert client.get(f"/api/v1/admin/journal-entries/{entry['id']}", headers=admin()).get_json() == entry


def test_post_then_nothing_else(client):
    entry = created_entry(client, rent())
    posted = post(client, entry["id"])
    assert posted.status_code == 200 and posted.get_json()["status"] == "posted"
    assert posted.get_json()["posted_by"] == "admin:admin-1" and posted.get_json()["posted_at"]
    for action in ("post", "void"):
        again = post(client, entry["id"], action)
        assert again.status_code == 409 and again.get_json()["code"] == "invalid_state"
    assert client.get(f"/api/v1/admin/journal-entries/{entry['id']}", headers=admin()).get_json()["status"] == "posted"


def test_void_a_draft_then_nothing_else(client):
    entry = created_entry(client, rent())
    voided = post(client, entry["id"], "void")
    assert voided.status_code == 200 and voided.get_json()["status"] == "voided"
    for action in ("post", "void"):
        assert post(client, entry["id"], action).status_code == 409


def test_unknown_ids_are_404(client):
    for entry_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert post(client, entry_id).status_code == 404
        assert client.get(f"/api/v1/admin/journal-entries/{entry_id}", headers=admin()).status_code == 404


def test_the_same_key_replays_and_another_body_is_refused(client, entry_counts):
    key = uuid.uuid4().hex
    first = create_entry(client, rent("10.00"), key)
    again = create_entry(client, rent("10.00"), key)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = create_entry(client, rent("11.00"), key)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    assert entry_counts() == (1, 2)


def test_a_replayed_post_answers_the_first_outcome(client):
    entry = created_entry(client, rent())
    key = uuid.uuid4().hex
    first = post(client, entry["id"], key=key)
    again = post(client, entry["id"], key=key)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    # A refusal for the entry's state is kept under its key too.
    void_key = uuid.uuid4().hex
    refused = post(client, entry["id"], "void", key=void_key)
    assert refused.status_code == 409
    assert post(client, entry["id"], "void", key=void_key).get_json() == refused.get_json()


def test_the_key_is_required_to_create(client, entry_counts):
    response = client.post("/api/v1/admin/journal-entries", json=rent(), headers=admin())
    assert response.status_code == 400 and response.get_json()["code"] == "idempotency_key_required"
    response = client.post("/api/v1/admin/journal-entries", json=rent(), headers=admin("x" * 256))
    assert response.status_code == 400 and response.get_json()["code"] == "idempotency_key_invalid"
    assert entry_counts() == (0, 0)


def test_concurrent_creates_under_one_key_make_one_entry(transactions_app, entry_counts):
    key, answers = uuid.uuid4().hex, []

    def create():
        answers.append(create_entry(transactions_app.test_client(), rent("5.00"), key))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert entry_counts() == (1, 2)


def test_concurrent_posts_of_one_draft_one_wins(client, transactions_app):
    entry = created_entry(client, rent())
    answers = []

    def post_it():
        answers.append(post(transactions_app.test_client(), entry["id"]).status_code)

    threads = [threading.Thread(target=post_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409, 409, 409]


def test_an_unbalanced_entry_is_422_and_writes_nothing(client, entry_counts):
    body = entry_body(line("5200-EUR", debit="10.00"), line("1100-EUR", credit="9.99"))
    response = create_entry(client, body)
    assert response.status_code == 422 and response.get_json()["code"] == "unbalanced_entry"
    assert response.get_json()["currencies"] == {"EUR": {"debit": "10.00", "credit": "9.99"}}
    # Balanced in sum but not per currency.
    mixed = entry_body(line("5200-EUR", debit="10.00"), line("1100-USD", credit="10.00"))
    assert create_entry(client, mixed).get_json()["code"] == "unbalanced_entry"
    assert entry_counts() == (0, 0)


@pytest.mark.parametrize("lines, field", [
    ([line("9999-EUR", debit="1.00"), line("1100-EUR", credit="1.00")], "lines.0.account_code"),
    ([line("5200", debit="1.00", currency="EUR"), line("1100-EUR", credit="1.00")], "lines.0.account_code"),
    ([line("5200-EUR", debit="1.00"), line("2100-EUR", credit="1.00")], "lines.1.account_code"),
    ([line("5200-EUR", debit="1.00"), line("1100-USD", credit="1.00", currency="EUR")], "lines.1.currency"),
    ([line("5200-EUR", debit="1.00")], "lines"),
    ([line("5200-EUR", debit="1.00", credit="1.00"), line("1100-EUR", credit="1.00")], "lines.0.debit"),
    ([line("5200-EUR"), line("1100-EUR", credit="1.00")], "lines.0.debit"),
    ([line("5200-EUR", debit="1.001"), line("1100-EUR", credit="1.001")], "lines.0.debit"),
    ([line("5200-EUR", debit="0.00"), line("1100-EUR", credit="0.00")], "lines.0.debit"),
    ([line("5200-EUR", debit="-1.00"), line("1100-EUR", credit="-1.00")], "lines.0.debit"),
    ([line("5200-EUR", debit="1e3"), line("1100-EUR", credit="1e3")], "lines.0.debit"),
    ([line("5200-EUR", debit="9999999999999"), line("1100-EUR", credit="9999999999999")], "lines.0.debit"),
    ([line("5200-EUR", debit=1.5), line("1100-EUR", credit=1.5)], "lines.0.debit"),
    ([line("5200-XYZ", debit="1.00"), line("1100-XYZ", credit="1.00")], "lines.0.currency"),
    ([line("5200-EUR", debit="1.00")] * 101, "lines"),
])
def test_bad_lines_are_422_and_write_nothing(client, entry_counts, lines, field):
    response = create_entry(client, entry_body(*lines))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["code"] == "validation_error"
    assert field in response.get_json()["errors"], response.get_json()
    assert entry_counts() == (0, 0)


@pytest.mark.parametrize("change, field", [
    ({"description": "Rent\x00"}, "description"),
    ({"description": "Rent\nmore"}, "description"),
    ({"description": ""}, "description"),
    ({"description": "x" * 501}, "description"),
    ({"effective_date": "2026-02-30"}, "effective_date"),
    ({"effective_date": "30.11.2026"}, "effective_date"),
    ({"effective_date": "2026-11-30T00:00:00Z"}, "effective_date"),
    ({"effective_date": "1969-12-31"}, "effective_date"),
    ({"effective_date": "2999-01-01"}, "effective_date"),
    ({"effective_date": "99999-01-01"}, "effective_date"),
    ({"lines": "all of them"}, "lines"),
    ({"extra": 1}, "extra"),
])
def test_bad_entries_are_422_and_write_nothing(client, entry_counts, change, field):
    response = create_entry(client, {**rent(), **change})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert any(name == field or name.endswith("." + field) for name in response.get_json()["errors"])
    assert entry_counts() == (0, 0)


def test_large_amounts_are_exact(client):
    body = entry_body(line("5200-EUR", debit="999999999999.99"), line("1100-EUR", credit="999999999999.98"),
                      line("1100-EUR", credit="0.01"))
    entry = created_entry(client, body)
    assert entry["lines"][0]["debit"] == "999999999999.99"
    assert post(client, entry["id"]).status_code == 200


def test_customers_cannot_write_journal_entries(client, entry_counts):
    headers = {**customer(), "Idempotency-Key": uuid.uuid4().hex}
    response = client.post("/api/v1/admin/journal-entries", json=rent(), headers=headers)
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    entry = created_entry(client, rent())
    for action in ("post", "void"):
        assert client.post(f"/api/v1/admin/journal-entries/{entry['id']}/{action}",
                           headers=customer()).status_code == 403
    assert client.get(f"/api/v1/admin/journal-entries/{entry['id']}", headers=admin()).get_json()["status"] == "draft"


def test_the_list_is_newest_first_and_paginated(client):
    ids = [created_entry(client, rent(f"{n}.00"))["id"] for n in range(1, 6)]
    post(client, ids[0])
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/admin/journal-entries?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                          headers=admin()).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    posted = client.get("/api/v1/admin/journal-entries?status=posted", headers=admin()).get_json()["items"]
    assert [item["id"] for item in posted] == [ids[0]]
    assert client.get("/api/v1/admin/journal-entries?status=gone", headers=admin()).status_code == 422


def test_the_database_keeps_posted_entries_and_all_lines_fixed(client, owner_engines):
    entry = created_entry(client, rent())
    post(client, entry["id"])
    engine = owner_engines["transactions"]
    for statement, message in (
            ("UPDATE manual_journal_entries SET description = 'x' WHERE id = :id", "only a draft"),
            ("UPDATE manual_journal_entries SET status = 'draft', posted_at = NULL, posted_by = NULL "
             "WHERE id = :id", "only a draft"),
            ("DELETE FROM manual_journal_entries WHERE id = :id", "never deleted"),
            ("UPDATE manual_journal_lines SET debit = debit + 1 WHERE entry_id = :id", "never updated"),
            ("DELETE FROM manual_journal_lines WHERE entry_id = :id", "never updated"),
            ("INSERT INTO manual_journal_lines (entry_id, line_no, account_code, currency, debit) "
             "VALUES (:id, 3, '5200-EUR', 'EUR', 1)", "only to a draft")):
        with pytest.raises(DBAPIError, match=message):
            with engine.begin() as connection:
                connection.execute(text(statement), {"id": entry["id"]})


def test_the_database_refuses_unbalanced_and_customer_lines(owner_engines, client):
    client.get("/api/v1/admin/ledger/chart-of-accounts", headers=admin())  # the chart, synced
    engine = owner_engines["transactions"]
    cases = (
        ([("5200-EUR", 100, 0), ("1100-EUR", 0, 99)], "does not balance"),
        ([("5200-EUR", 100, 0)], "fewer than two lines"),
        ([("5200-EUR", 100, 0), ("2100-EUR", 0, 100)], "no manual lines"),
        ([("5200", 100, 0), ("1100-EUR", 0, 100)], "header"),
        ([("5200-EUR", 100, 0), ("1100-USD", 0, 100)], "holds USD"),
    )
    for lines, message in cases:
        entry_id = uuid.uuid4()
        with pytest.raises(DBAPIError, match=message):
            with engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO manual_journal_entries (id, description, effective_date, created_by) "
                    "VALUES (:id, 'x', '2026-11-30', 'x')"), {"id": entry_id})
                for n, (code, debit, credit) in enumerate(lines, 1):
                    connection.execute(text(
                        "INSERT INTO manual_journal_lines (entry_id, line_no, account_code, currency, debit, credit) "
                        "VALUES (:id, :n, :code, 'EUR', :debit, :credit)"),
                        {"id": entry_id, "n": n, "code": code, "debit": debit, "credit": credit})
    with pytest.raises(DBAPIError, match="starts as a draft"):
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO manual_journal_entries (id, description, effective_date, created_by, status, posted_at) "
                "VALUES (:id, 'x', '2026-11-30', 'x', 'posted', now())"), {"id": uuid.uuid4()})
