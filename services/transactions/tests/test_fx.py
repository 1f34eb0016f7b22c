"""FX rates: exact rates with history, the rate in force at a time (own pair or inverse of the
opposite pair, no triangulation), half-even conversion to the target's minor units."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.transactions.domain.books.fx import RateError, convert, inverse, parse_rate, rate_at
from services.transactions.demo_rates import DEMO_RATES, load_demo_rates
from services.transactions.tests.factories import ADMIN
from tests.support.tokens import auth_header



def admin_auth():
    """Fresh each call: internal tokens live a minute, a long run outlives a module constant."""
    return auth_header("transactions", subject=ADMIN, roles=("admin",))


def customer_auth():
    return auth_header("transactions", subject="alice")


def put_rate(client, base, quote, rate, effective_from=None, headers=None):
    body = {"base": base, "quote": quote, "rate": rate}
    if effective_from is not None:
        body["effective_from"] = effective_from
    return client.put("/api/v1/admin/fx-rates", json=body, headers=headers or admin_auth())


# -- pure functions ---------------------------------------------------------------------------
@pytest.mark.parametrize("amount, source, target, rate, expected", [
    (10000, "EUR", "USD", Decimal("1.0842"), 10842),       # 100.00 EUR -> 108.42 USD
    (1, "EUR", "USD", Decimal("1.5"), 2),                   # 0.015 -> 0.02 (half to even)
    (3, "EUR", "USD", Decimal("0.5"), 2),                   # 0.015 -> 0.02
    (1, "EUR", "USD", Decimal("0.5"), 0),                   # 0.005 -> 0.00 (half to even)
    (10000, "EUR", "JPY", Decimal("162.355"), 16236),       # 16235.5 JPY -> 16236 (even)
    (10000, "EUR", "JPY", Decimal("162.345"), 16234),       # 16234.5 JPY -> 16234 (even)
    (12345, "EUR", "BHD", Decimal("0.4087"), 50454),        # 123.45 * 0.4087 = 50.454015 BHD
    (16235, "JPY", "EUR", Decimal("0.006159532000"), 10000),  # 99.99999... EUR -> 100.00
    (999999999999999, "EUR", "JPY", Decimal("9999999999.999999999999"), 99999999999999899999990),  # exact, no float drift
])
def test_conversion_rounds_half_even_to_the_targets_minor_units(amount, source, target, rate, expected):
    assert convert(amount, source, target, rate) == expected


@pytest.mark.parametrize("text_", ["0", "0.000", "-1", "1e3", "1E+999999", " 1.5", "1.5 ", "1.", ".5",
                                   "1,5", "١٫٥", "12345678901", "1.0000000000001", "NaN", "Infinity", ""])
def test_rate_text_that_is_not_a_rate_is_refused(text_):
    with pytest.raises(RateError):
        parse_rate(text_)


def test_rates_are_exact_decimals():
    assert parse_rate("1.084200000001") == Decimal("1.084200000001")
    assert inverse(Decimal("1.0842")) == Decimal("0.922339051835")
    assert inverse(Decimal("3")) == Decimal("0.333333333333")


# -- the API ---------------------------------------------------------------------------------
def test_an_admin_puts_a_rate_and_everyone_reads_it(client):
    response = put_rate(client, "EUR", "USD", "1.0842", "2026-01-01T00:00:00Z")
    assert response.status_code == 201, response.get_data(as_text=True)
    record = response.get_json()
    assert record["rate"] == "1.0842" and record["base"] == "EUR" and record["quote"] == "USD"
    assert record["created_by"] == f"admin:{ADMIN}"
    rates = client.get("/api/v1/fx/rates?base=EUR", headers=customer_auth())
    assert rates.status_code == 200
    assert rates.get_json()["rates"] == {"USD": "1.0842"} and rates.get_json()["base"] == "EUR"
    # The opposite direction is the inverse, rounded half-even to 12 decimals.
    assert client.get("/api/v1/fx/rates?base=USD", headers=customer_auth()).get_json()["rates"] == \
        {"EUR": "0.922339051835"}


def test_the_rate_in_force_follows_effective_dates_and_back_dating(client):
    put_rate(client, "EUR", "USD", "1.10", "2026-03-01T00:00:00Z")
    put_rate(client, "EUR", "USD", "1.20", "2026-06-01T00:00:00Z")
    put_rate(client, "EUR", "USD", "1.15", "2026-04-01T00:00:00Z")  # back-dated, entered last

    def at(moment):
        response = client.get(f"/api/v1/fx/rates?base=EUR&at={moment}", headers=customer_auth())
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["rates"].get("USD")

    assert at("2026-02-01T00:00:00Z") is None
    assert at("2026-03-15T00:00:00Z") == "1.1"
    assert at("2026-04-15T00:00:00%2B02:00") == "1.15"
    assert at("2026-07-01T00:00:00Z") == "1.2"
    history = client.get("/api/v1/fx/rates/history?base=EUR&quote=USD", headers=customer_auth()).get_json()
    assert [r["rate"] for r in history["items"]] == ["1.2", "1.15", "1.1"]


def test_the_newer_of_a_pair_and_its_opposite_wins_and_there_is_no_triangulation(client, transactions_app):
    put_rate(client, "EUR", "USD", "1.10", "2026-03-01T00:00:00Z")
    put_rate(client, "USD", "EUR", "0.80", "2026-05-01T00:00:00Z")
    put_rate(client, "EUR", "GBP", "0.85", "2026-03-01T00:00:00Z")
    rates = client.get("/api/v1/fx/rates?base=EUR&at=2026-06-01T00:00:00Z", headers=customer_auth()).get_json()
    assert rates["rates"] == {"GBP": "0.85", "USD": "1.25"}
    earlier = client.get("/api/v1/fx/rates?base=EUR&at=2026-04-01T00:00:00Z", headers=customer_auth()).get_json()
    assert earlier["rates"]["USD"] == "1.1"
    usd = client.get("/api/v1/fx/rates?base=USD&at=2026-06-01T00:00:00Z", headers=customer_auth()).get_json()
    assert usd["rates"] == {"EUR": "0.8"}  # no USD/GBP through EUR
    with transactions_app.app_context():
        from services.common.sql import request_session
        session = request_session()
        moment = datetime(2026, 6, 1, tzinfo=timezone.utc)
        assert rate_at(session, "EUR", "USD", moment) == Decimal("1.25")
        assert rate_at(session, "USD", "EUR", moment) == Decimal("0.8")
        assert rate_at(session, "USD", "GBP", moment) is None
        assert rate_at(session, "EUR", "EUR", moment) == 1


def test_history_is_cursor_paginated_newest_first(client):
    for month in range(1, 8):
        assert put_rate(client, "EUR", "CHF", f"0.9{month}", f"2026-0{month}-01T00:00:00Z").status_code == 201
    seen, cursor = [], None
    while True:
        url = "/api/v1/fx/rates/history?base=EUR&quote=CHF&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=customer_auth()).get_json()
        seen += [r["rate"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"0.9{m}" for m in range(7, 0, -1)]
    bad = client.get("/api/v1/fx/rates/history?base=EUR&cursor=bm90LWEtY3Vyc29y", headers=customer_auth())
    assert bad.status_code == 422 and bad.get_json()["errors"] == {"cursor": ["The cursor is not one this API gave out."]}


def test_a_repeated_put_adds_no_second_record(client):
    first = put_rate(client, "EUR", "SEK", "11.42", "2026-02-01T00:00:00Z")
    again = put_rate(client, "EUR", "SEK", "11.42", "2026-02-01T00:00:00Z")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    history = client.get("/api/v1/fx/rates/history?base=EUR&quote=SEK", headers=customer_auth()).get_json()
    assert len(history["items"]) == 1


@pytest.mark.parametrize("body, field", [
    ({"base": "EUR", "quote": "USD", "rate": "0"}, "rate"),
    ({"base": "EUR", "quote": "USD", "rate": "-1.2"}, "rate"),
    ({"base": "EUR", "quote": "USD", "rate": "1.1234567890123"}, "rate"),
    ({"base": "EUR", "quote": "USD", "rate": "1e5"}, "rate"),
    ({"base": "EUR", "quote": "USD", "rate": "99999999999999999999999"}, "rate"),
    ({"base": "EUR", "quote": "USD", "rate": 1.08}, "rate"),
    ({"base": "EUR", "quote": "XYZ", "rate": "1.08"}, "quote"),
    ({"base": "XAU", "quote": "USD", "rate": "1.08"}, "base"),
    ({"base": "EUR", "quote": "EUR", "rate": "1"}, "quote"),
    ({"base": "EUR", "quote": "USD", "rate": "1.08", "effective_from": "2026-13-01T00:00:00Z"}, "effective_from"),
    ({"base": "EUR", "quote": "USD", "rate": "1.08", "effective_from": "2026-01-01T00:00:00"}, "effective_from"),
    ({"base": "EUR", "quote": "USD", "rate": "1.08", "effective_from": "99999-01-01T00:00:00Z"}, "effective_from"),
])
def test_bad_rates_are_422_and_write_nothing(client, body, field):
    response = put_rate(client, body["base"], body["quote"], body["rate"], body.get("effective_from"))
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["code"] == "validation_error" and field in problem["errors"]
    assert client.get("/api/v1/fx/rates/history?base=EUR", headers=customer_auth()).get_json()["items"] == []


def test_a_rate_more_than_a_year_ahead_is_refused(client):
    ahead = (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()
    response = put_rate(client, "EUR", "USD", "1.08", ahead)
    assert response.status_code == 422 and "effective_from" in response.get_json()["errors"]
    soon = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    assert put_rate(client, "EUR", "USD", "1.08", soon).status_code == 201


def test_customers_cannot_put_rates(client):
    response = put_rate(client, "EUR", "USD", "1.08", headers=customer_auth())
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert client.get("/api/v1/fx/rates/history?base=EUR", headers=customer_auth()).get_json()["items"] == []


@pytest.mark.parametrize("query", ["base=XYZ", "base=EURO", "base=EUR&at=yesterday", "base=EUR&at=2026-01-01",
                                   "base=EUR&at=2026-01-01T00:00:00", "base=E%00R",
                                   # converting these to UTC overflows datetime: bounded, not a 500
                                   "base=EUR&at=9999-12-31T23:00:00-12:00", "base=EUR&at=0001-01-01T00:00:00%2B14:00"])
def test_bad_rate_queries_are_422(client, query):
    response = client.get(f"/api/v1/fx/rates?{query}", headers=customer_auth())
    assert response.status_code == 422, response.get_data(as_text=True)


def test_reads_need_a_token(client):
    assert client.get("/api/v1/fx/rates?base=EUR").status_code == 401


def test_rate_records_are_append_only_in_the_database(client, owner_engines):
    put_rate(client, "EUR", "USD", "1.08", "2026-01-01T00:00:00Z")
    for statement in ("UPDATE fx_rates SET rate = 2", "DELETE FROM fx_rates"):
        with pytest.raises(DBAPIError, match="never updated or deleted"):
            with owner_engines["transactions"].begin() as connection:
                connection.execute(text(statement))
    with pytest.raises(DBAPIError, match="fx_rate_positive"):
        with owner_engines["transactions"].begin() as connection:
            connection.execute(text("INSERT INTO fx_rates (base, quote, rate, effective_from, created_by) "
                                    "VALUES ('EUR', 'USD', 0, now(), 'x')"))


def test_demo_rates_load_once(transactions_db, client):
    assert load_demo_rates(transactions_db.owner_url) == len(DEMO_RATES)
    assert load_demo_rates(transactions_db.owner_url) == 0
    rates = client.get("/api/v1/fx/rates?base=EUR", headers=customer_auth()).get_json()["rates"]
    assert rates["USD"] == "1.0842" and rates["JPY"] == "162.35" and rates["BHD"] == "0.4087"
