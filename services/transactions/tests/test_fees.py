"""The fee schedule: a percent of the amount, half-even to minor units, at least the minimum;
history kept, the newest row per kind and currency in force."""
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.common.errors import Problem
from services.common.sql import request_session
from services.transactions.domain.books.fees import fee_for, parse_percent, percent_of
from services.transactions.tests.factories import ADMIN
from tests.support.tokens import auth_header



def admin_auth():
    """Fresh each call: internal tokens live a minute, a long run outlives a module constant."""
    return auth_header("transactions", subject=ADMIN, roles=("admin",))


def customer_auth():
    return auth_header("transactions", subject="alice")


def put_fee(client, kind, percent, minimum, currency, headers=None):
    return client.put("/api/v1/admin/fees", headers=headers or admin_auth(),
                      json={"kind": kind, "percent": percent, "minimum": minimum, "currency": currency})


@pytest.mark.parametrize("amount, percent, expected", [
    (10000, Decimal("0.5"), 50), (101, Decimal("0.5"), 1), (100, Decimal("0.5"), 0),  # 0.5 -> 0 (even)
    (300, Decimal("0.5"), 2),  # 1.5 -> 2 (even)
    (12345, Decimal("1.25"), 154), (1, Decimal("100"), 1), (999999999999999, Decimal("0.0001"), 1000000000),
])
def test_percent_of_rounds_half_even(amount, percent, expected):
    assert percent_of(amount, percent) == expected


@pytest.mark.parametrize("raw", ["100.0001", "101", "-1", "1e2", "0.12345", " 1", "1.", "", "٣"])
def test_bad_percent_text(raw):
    with pytest.raises(ValueError):
        parse_percent(raw)


def test_an_admin_sets_fees_and_the_newest_is_in_force(client):
    first = put_fee(client, "fx", "0.50", "1.00", "EUR")
    assert first.status_code == 200, first.get_data(as_text=True)
    fee = first.get_json()
    assert (fee["kind"], fee["percent"], fee["minimum"], fee["currency"]) == ("fx", "0.50", "1.00", "EUR")
    assert fee["created_by"] == f"admin:{ADMIN}"
    assert put_fee(client, "fx", "0.75", "2.00", "EUR").status_code == 200
    assert put_fee(client, "external", "0", "5", "EUR").status_code == 200
    assert put_fee(client, "international", "1.125", "500", "JPY").status_code == 200
    listing = client.get("/api/v1/fees", headers=customer_auth())
    assert listing.status_code == 200
    items = [{k: i[k] for k in ("kind", "percent", "minimum", "currency")} for i in listing.get_json()["items"]]
    assert items == [
        {"kind": "external", "percent": "0.00", "minimum": "5.00", "currency": "EUR"},
        {"kind": "fx", "percent": "0.75", "minimum": "2.00", "currency": "EUR"},
        {"kind": "international", "percent": "1.125", "minimum": "500", "currency": "JPY"},
    ]


def test_fee_for_takes_the_percent_with_a_minimum(client, transactions_app):
    put_fee(client, "fx", "0.50", "1.00", "EUR")
    put_fee(client, "fx", "0.40", "150", "JPY")
    with transactions_app.app_context():
        session = request_session()
        assert fee_for(session, "fx", 100000, "EUR") == 500       # 0.5% of 1000.00 = 5.00
        assert fee_for(session, "fx", 5000, "EUR") == 100          # 0.25 -> the minimum 1.00
        assert fee_for(session, "fx", 10000, "JPY") == 150         # 40 JPY -> the minimum 150
        assert fee_for(session, "external", 100000, "EUR") == 0    # no row for the kind: no fee


def test_a_fee_in_another_currency_converts_its_minimum(client, transactions_app):
    put_fee(client, "international", "1.00", "2.00", "EUR")
    with transactions_app.app_context():
        session = request_session()
        with pytest.raises(Problem) as refused:
            fee_for(session, "international", 1000, "USD")
        assert refused.value.code == "fx_rate_unavailable"
    client.put("/api/v1/admin/fx-rates", headers=admin_auth(),
               json={"base": "EUR", "quote": "USD", "rate": "1.0842", "effective_from": "2026-01-01T00:00:00Z"})
    with transactions_app.app_context():
        session = request_session()
        assert fee_for(session, "international", 1000, "USD") == 217       # 2.00 EUR = 2.1684 -> 2.17 USD
        assert fee_for(session, "international", 100000, "USD") == 1000    # 1% of 1000.00 USD


@pytest.mark.parametrize("body, field", [
    ({"kind": "atm", "percent": "1", "minimum": "1.00", "currency": "EUR"}, "kind"),
    ({"kind": "fx", "percent": "100.5", "minimum": "1.00", "currency": "EUR"}, "percent"),
    ({"kind": "fx", "percent": "-1", "minimum": "1.00", "currency": "EUR"}, "percent"),
    ({"kind": "fx", "percent": 1, "minimum": "1.00", "currency": "EUR"}, "percent"),
    ({"kind": "fx", "percent": "1", "minimum": "1.001", "currency": "EUR"}, "minimum"),
    ({"kind": "fx", "percent": "1", "minimum": "1.5", "currency": "JPY"}, "minimum"),
    ({"kind": "fx", "percent": "1", "minimum": "9999999999999", "currency": "EUR"}, "minimum"),
    ({"kind": "fx", "percent": "1", "minimum": "-1", "currency": "EUR"}, "minimum"),
    ({"kind": "fx", "percent": "1", "minimum": "1.00", "currency": "ABC"}, "currency"),
])
def test_bad_fees_are_422_and_write_nothing(client, body, field):
    response = client.put("/api/v1/admin/fees", headers=admin_auth(), json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]
    assert client.get("/api/v1/fees", headers=customer_auth()).get_json()["items"] == []


def test_customers_cannot_set_fees(client):
    response = put_fee(client, "fx", "0.5", "1.00", "EUR", headers=customer_auth())
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert client.get("/api/v1/fees", headers=customer_auth()).get_json()["items"] == []


def test_fee_history_is_append_only(client, owner_engines):
    put_fee(client, "fx", "0.5", "1.00", "EUR")
    for statement in ("UPDATE fee_schedule SET percent = 0", "DELETE FROM fee_schedule"):
        with pytest.raises(DBAPIError, match="never updated or deleted"):
            with owner_engines["transactions"].begin() as connection:
                connection.execute(text(statement))
    with pytest.raises(DBAPIError, match="fee_percent_range"):
        with owner_engines["transactions"].begin() as connection:
            connection.execute(text("INSERT INTO fee_schedule (kind, percent, minimum, currency, created_by) "
                                    "VALUES ('fx', 100.5, 0, 'EUR', 'x')"))
