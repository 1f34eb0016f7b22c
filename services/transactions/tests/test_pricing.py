"""Pricing a cross-currency transfer: the rate in force, half-even conversion, the fx fee on
top, the expected rate, and legs that balance per currency."""
from decimal import Decimal

import pytest

from services.common.errors import Problem
from services.common.sql import request_session
from services.transactions.domain.books.pricing import price, quote_fx
from services.transactions.tests.books_support import admin

ACCOUNTS = {"source": "acc-eur", "target": "acc-usd", "fee_income": "internal:fees:EUR",
            "fx_clearing": {"EUR": "internal:fx_clearing:EUR", "USD": "internal:fx_clearing:USD"}}


def test_the_legs_balance_per_currency():
    quote = price(10000, "EUR", "USD", Decimal("1.0842"), fee=50)
    legs = quote.legs(**ACCOUNTS)
    assert legs == [("acc-eur", -10050, "EUR"), ("internal:fx_clearing:EUR", 10000, "EUR"),
                    ("internal:fees:EUR", 50, "EUR"), ("internal:fx_clearing:USD", -10842, "USD"),
                    ("acc-usd", 10842, "USD")]
    for currency in ("EUR", "USD"):
        assert sum(amount for _, amount, c in legs if c == currency) == 0
    assert quote.as_json() == {"fx_rate": "1.0842", "converted_amount": "108.42", "converted_currency": "USD",
                               "fee": "0.50"}
    assert len(price(10000, "EUR", "USD", Decimal("1.0842")).legs(**ACCOUNTS)) == 4  # no fee, no fee leg


def test_the_expected_rate_must_match():
    with pytest.raises(Problem) as changed:
        price(10000, "EUR", "USD", Decimal("1.0842"), expected_rate=Decimal("1.08"))
    assert changed.value.status == 409 and changed.value.code == "fx_rate_changed"
    assert changed.value.extra["fx_rate"] == "1.0842"
    assert price(10000, "EUR", "USD", Decimal("1.0842"), expected_rate=Decimal("1.084200")).converted_amount == 10842


def test_what_cannot_be_posted_is_refused():
    with pytest.raises(Problem, match="converts to nothing"):
        price(1, "JPY", "BHD", Decimal("0.0004"))           # 0.0004 BHD: 0.4 fils rounds to none
    with pytest.raises(Problem, match="too large"):
        price(99999999999999, "EUR", "JPY", Decimal("9999"))  # 10^16 yen: past a posting


def test_quote_uses_the_rate_in_force_and_the_fx_fee(client, transactions_app):
    client.put("/api/v1/admin/fx-rates", headers=admin(),
               json={"base": "EUR", "quote": "JPY", "rate": "162.35", "effective_from": "2026-01-01T00:00:00Z"})
    client.put("/api/v1/admin/fees", headers=admin(),
               json={"kind": "fx", "percent": "0.50", "minimum": "1.00", "currency": "EUR"})
    with transactions_app.app_context():
        session = request_session()
        quote = quote_fx(session, 10000, "EUR", "JPY")
        assert (quote.converted_amount, quote.fee, quote.rate) == (16235, 100, Decimal("162.35"))
        back = quote_fx(session, 16235, "JPY", "EUR")       # the inverse of the opposite pair
        assert back.rate == Decimal("0.006159531876") and back.converted_amount == 10000
        # No JPY row: the EUR row applies, its minimum 1.00 EUR at 162.35 is 162 JPY (0.5% is 81).
        assert back.fee == 162
        with pytest.raises(Problem) as missing:
            quote_fx(session, 10000, "EUR", "GBP")
        assert missing.value.code == "fx_rate_unavailable"
