from decimal import Decimal

import pytest

from services.transactions.currencies import minor_units, quantum
from tests.support.tokens import auth_header


@pytest.mark.parametrize("code,units", [("EUR", 2), ("JPY", 0), ("BHD", 3), ("usd", 2)])
def test_minor_units_follow_iso_4217(code, units):
    assert minor_units(code) == units


@pytest.mark.parametrize("code", ["XXX1", "ABC", "XAU", "", "E"])
def test_unknown_or_non_monetary_codes_have_none(code):
    assert minor_units(code) is None


def test_quantum_is_the_smallest_amount():
    assert quantum("EUR") == Decimal("0.01") and quantum("JPY") == Decimal("1")


def test_currencies_endpoint_lists_minor_units(transactions_app):
    response = transactions_app.test_client().get("/api/v1/currencies", headers=auth_header("transactions"))
    assert response.status_code == 200
    by_code = {c["code"]: c["minor_units"] for c in response.get_json()}
    assert by_code["EUR"] == 2 and by_code["JPY"] == 0 and by_code["KWD"] == 3
    assert "XAU" not in by_code
