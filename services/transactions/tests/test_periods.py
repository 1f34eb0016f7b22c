"""Fiscal periods: no overlaps, closing is final and only after the last day, and nothing is
created or posted with an effective date inside a closed period (here and in the database)."""
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.transactions.tests.books_support import (admin, customer, closed_period, create_entry,
                                                       create_period, created_entry, post, rent)


def test_a_period_is_created_open_and_listed(client):
    response = create_period(client, "October 2026", "2026-10-01", "2026-10-31")
    assert response.status_code == 201, response.get_data(as_text=True)
    period = response.get_json()
    assert (period["name"], period["status"], period["start_date"], period["end_date"]) == \
        ("October 2026", "open", "2026-10-01", "2026-10-31")
    create_period(client, "September 2026", "2026-09-01", "2026-09-30")
    listing = client.get("/api/v1/admin/fiscal-periods", headers=admin()).get_json()
    assert [p["name"] for p in listing["items"]] == ["October 2026", "September 2026"]
    assert client.get(f"/api/v1/admin/fiscal-periods/{period['id']}", headers=admin()).get_json() == period


@pytest.mark.parametrize("start, end", [("2026-10-15", "2026-11-15"), ("2026-09-01", "2026-10-01"),
                                        ("2026-10-31", "2026-10-31"), ("2026-01-01", "2026-12-31")])
def test_an_overlapping_period_is_409(client, start, end):
    assert create_period(client, "October 2026", "2026-10-01", "2026-10-31").status_code == 201
    response = create_period(client, "Overlap", start, end)
    assert response.status_code == 409 and response.get_json()["code"] == "period_overlaps"
    assert len(client.get("/api/v1/admin/fiscal-periods", headers=admin()).get_json()["items"]) == 1


def test_the_database_refuses_overlaps_too(client, owner_engines):
    create_period(client, "October 2026", "2026-10-01", "2026-10-31")
    with pytest.raises(DBAPIError, match="period_overlaps"):
        with owner_engines["transactions"].begin() as connection:
            connection.execute(text("INSERT INTO fiscal_periods (id, name, start_date, end_date, created_by) "
                                    "VALUES (:id, 'x', '2026-10-31', '2026-11-30', 'x')"), {"id": uuid.uuid4()})


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "start_date": "2026-10-31", "end_date": "2026-10-01"}, "end_date"),
    ({"name": "x", "start_date": "2026-02-30", "end_date": "2026-03-31"}, "start_date"),
    ({"name": "x", "start_date": "1900-01-01", "end_date": "1900-01-31"}, "start_date"),
    ({"name": "x", "start_date": "2026-01-01", "end_date": "99999-01-31"}, "end_date"),
    ({"name": "Oct\x00ober", "start_date": "2026-10-01", "end_date": "2026-10-31"}, "name"),
    ({"name": "Oct\u0085ober", "start_date": "2026-10-01", "end_date": "2026-10-31"}, "name"),
    ({"name": "", "start_date": "2026-10-01", "end_date": "2026-10-31"}, "name"),
    ({"start_date": "2026-10-01", "end_date": "2026-10-31"}, "name"),
])
def test_bad_periods_are_422(client, body, field):
    response = client.post("/api/v1/admin/fiscal-periods", json=body, headers=admin())
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]
    assert client.get("/api/v1/admin/fiscal-periods", headers=admin()).get_json()["items"] == []


def test_close_is_final(client):
    period = closed_period(client, "October 2026", "2026-10-01", "2026-10-31")
    assert period["status"] == "closed" and period["closed_by"] == "admin:admin-1" and period["closed_at"]
    again = client.post(f"/api/v1/admin/fiscal-periods/{period['id']}/close", headers=admin())
    assert again.status_code == 409 and again.get_json()["code"] == "invalid_state"


def test_a_period_that_has_not_ended_cannot_be_closed(client):
    today = datetime.now(timezone.utc).date()
    period = create_period(client, "This month", (today - timedelta(days=3)).isoformat(), today.isoformat()).get_json()
    response = client.post(f"/api/v1/admin/fiscal-periods/{period['id']}/close", headers=admin())
    assert response.status_code == 409 and response.get_json()["code"] == "period_not_ended"
    assert client.get(f"/api/v1/admin/fiscal-periods/{period['id']}", headers=admin()).get_json()["status"] == "open"


def test_nothing_is_created_in_a_closed_period(client):
    closed_period(client, "October 2026", "2026-10-01", "2026-10-31")
    for day in ("2026-10-01", "2026-10-15", "2026-10-31"):
        response = create_entry(client, rent(effective_date=day))
        assert response.status_code == 409 and response.get_json()["code"] == "period_closed", day
    assert create_entry(client, rent(effective_date="2026-11-01")).status_code == 201
    assert create_entry(client, rent(effective_date="2026-09-30")).status_code == 201  # no period: open


def test_nothing_is_posted_in_a_closed_period_but_a_draft_may_be_voided(client):
    period = create_period(client, "October 2026", "2026-10-01", "2026-10-31").get_json()
    draft = created_entry(client, rent(effective_date="2026-10-20"))
    other = created_entry(client, rent(effective_date="2026-10-21"))
    assert client.post(f"/api/v1/admin/fiscal-periods/{period['id']}/close", headers=admin()).status_code == 200
    response = post(client, draft["id"])
    assert response.status_code == 409 and response.get_json()["code"] == "period_closed"
    assert client.get(f"/api/v1/admin/journal-entries/{draft['id']}", headers=admin()).get_json()["status"] == "draft"
    assert post(client, other["id"], "void").status_code == 200


def test_the_database_refuses_postings_in_a_closed_period(client, owner_engines):
    period = create_period(client, "October 2026", "2026-10-01", "2026-10-31").get_json()
    draft = created_entry(client, rent(effective_date="2026-10-20"))
    client.post(f"/api/v1/admin/fiscal-periods/{period['id']}/close", headers=admin())
    engine = owner_engines["transactions"]
    with pytest.raises(DBAPIError, match="period_closed|is closed"):
        with engine.begin() as connection:
            connection.execute(text("UPDATE manual_journal_entries SET status = 'posted', posted_at = now() "
                                    "WHERE id = :id"), {"id": draft["id"]})
    with pytest.raises(DBAPIError, match="is closed"):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO manual_journal_entries (id, description, effective_date, "
                                    "created_by) VALUES (:id, 'x', '2026-10-05', 'x')"), {"id": uuid.uuid4()})
    for statement, message in (("UPDATE fiscal_periods SET status = 'open', closed_at = NULL", "only open"),
                               ("UPDATE fiscal_periods SET end_date = '2026-10-10'", "only open"),
                               ("DELETE FROM fiscal_periods", "never deleted")):
        with pytest.raises(DBAPIError, match=message):
            with engine.begin() as connection:
                connection.execute(text(statement))


def test_a_replayed_close_answers_the_first_outcome(client):
    period = create_period(client, "October 2026", "2026-10-01", "2026-10-31").get_json()
    key = uuid.uuid4().hex
    first = client.post(f"/api/v1/admin/fiscal-periods/{period['id']}/close", headers=admin(key))
    again = client.post(f"/api/v1/admin/fiscal-periods/{period['id']}/close", headers=admin(key))
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_customers_cannot_touch_periods(client):
    response = client.post("/api/v1/admin/fiscal-periods", headers=customer(),
                           json={"name": "x", "start_date": "2026-10-01", "end_date": "2026-10-31"})
    assert response.status_code == 403
    period = create_period(client, "October 2026", "2026-10-01", "2026-10-31").get_json()
    assert client.post(f"/api/v1/admin/fiscal-periods/{period['id']}/close", headers=customer()).status_code == 403
    assert client.get(f"/api/v1/admin/fiscal-periods/{period['id']}", headers=admin()).get_json()["status"] == "open"
    assert client.post(f"/api/v1/admin/fiscal-periods/{uuid.uuid4()}/close", headers=admin()).status_code == 404


def test_a_close_and_a_post_of_the_same_dates_serialize(client, owner_engines):
    """A posting holds the period FOR SHARE: a close waits for it; a post that waited on a close
    sees the period closed."""
    period = create_period(client, "October 2026", "2026-10-01", "2026-10-31").get_json()
    first = created_entry(client, rent(effective_date="2026-10-20"))
    second = created_entry(client, rent(effective_date="2026-10-21"))
    engine = owner_engines["transactions"]
    post_sql = text("UPDATE manual_journal_entries SET status = 'posted', posted_at = now() WHERE id = :id")
    close_sql = text("UPDATE fiscal_periods SET status = 'closed', closed_at = now() WHERE id = :id")
    with engine.connect() as poster, engine.connect() as closer:
        poster.begin()
        poster.execute(post_sql, {"id": first["id"]})            # in flight, period held FOR SHARE
        closer.begin()
        closer.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(DBAPIError, match="lock timeout"):
            closer.execute(close_sql, {"id": period["id"]})      # must wait for the posting
        closer.rollback()
        poster.commit()
    with engine.connect() as closer, engine.connect() as poster:
        closer.begin()
        closer.execute(close_sql, {"id": period["id"]})          # in flight
        outcome = {}

        def post_second():
            try:
                with poster.begin():
                    poster.execute(post_sql, {"id": second["id"]})
                outcome["posted"] = True
            except DBAPIError as error:
                outcome["error"] = str(error)

        waiter = threading.Thread(target=post_second)
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive(), "the post did not wait for the close"
        closer.commit()
        waiter.join(10)
    assert "is closed" in outcome.get("error", ""), outcome
    entries = {e: client.get(f"/api/v1/admin/journal-entries/{e}", headers=admin()).get_json()["status"]
               for e in (first["id"], second["id"])}
    assert entries == {first["id"]: "posted", second["id"]: "draft"}


def test_periods_page_newest_first_by_cursor_and_refuse_a_forged_cursor(client):
    for month in ("01", "02", "03"):
        assert create_period(client, f"2025-{month}", f"2025-{month}-01", f"2025-{month}-28").status_code == 201
    first = client.get("/api/v1/admin/fiscal-periods?limit=2", headers=admin()).get_json()
    assert [p["name"] for p in first["items"]] == ["2025-03", "2025-02"] and first["next_cursor"]
    rest = client.get(f"/api/v1/admin/fiscal-periods?limit=2&cursor={first['next_cursor']}", headers=admin()).get_json()
    assert [p["name"] for p in rest["items"]] == ["2025-01"] and rest["next_cursor"] is None
    forged = client.get("/api/v1/admin/fiscal-periods?cursor=bm90LWEtY3Vyc29y", headers=admin())
    assert forged.status_code == 422 and "cursor" in forged.get_json()["errors"]
