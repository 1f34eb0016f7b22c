"""The one amount parser: the contract's pattern on the raw text, the currency's places."""
from decimal import Decimal

import marshmallow as ma
import pytest

from services.common.amounts import (AmountError, AmountString, from_minor, parse_amount, to_minor,
                                     validate_amount_for_currency)

HOSTILE = ["1E+999999999", "1e3", "+1.00", "-1.00", " 1.00 ", "1.00\n", "\u0661", "1_000",
           "1,00", "1.", ".5", "", "0x10", "Infinity", "NaN", "1000000000000", "92233720368547758.07",
           "１", "1.0.0"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_amount_texts_are_refused(text):
    with pytest.raises(AmountError):
        parse_amount(text, "EUR")


@pytest.mark.parametrize("value", [1, 1.5, None, Decimal("1"), ["1"]])
def test_only_strings_are_amounts(value):
    with pytest.raises(AmountError):
        parse_amount(value, "EUR")


@pytest.mark.parametrize("text, currency, expected", [
    ("1250.50", "EUR", Decimal("1250.50")), ("7", "JPY", Decimal("7")),
    ("1.234", "BHD", Decimal("1.234")), ("999999999999.99", "EUR", Decimal("999999999999.99")),
    ("0.1", "EUR", Decimal("0.1")),
])
def test_good_amounts_parse_exactly(text, currency, expected):
    assert parse_amount(text, currency) == expected


def test_places_zero_and_currency_rules():
    with pytest.raises(AmountError, match="decimal places"):
        parse_amount("1.5", "JPY")
    with pytest.raises(AmountError, match="decimal places"):
        parse_amount("1.500", "EUR")
    with pytest.raises(AmountError, match="greater than zero"):
        parse_amount("0.00", "EUR")
    assert parse_amount("0.00", "EUR", allow_zero=True) == 0
    with pytest.raises(AmountError, match="Unknown currency"):
        parse_amount("1", "XXX")


def test_the_largest_amount_fits_a_bigint_of_minor_units():
    largest = to_minor(parse_amount("999999999999.999", "BHD"), "BHD")
    assert largest < 2 ** 63 - 1
    assert from_minor(largest, "BHD") == "999999999999.999"
    assert from_minor(-150, "EUR") == "-1.50" and from_minor(7, "JPY") == "7"


class Payment(ma.Schema):
    amount = AmountString(required=True)
    currency = ma.fields.String(required=True)

    @ma.validates_schema
    def amount_fits(self, data, **_):
        validate_amount_for_currency(data)


def test_schema_field_reports_the_amount_field():
    assert Payment().load({"amount": "1.50", "currency": "EUR"})["amount"] == "1.50"
    for bad in ({"amount": "1E5", "currency": "EUR"}, {"amount": 5, "currency": "EUR"},
                {"amount": "1.5", "currency": "JPY"}):
        with pytest.raises(ma.ValidationError) as caught:
            Payment().load(bad)
        assert "amount" in caught.value.messages
