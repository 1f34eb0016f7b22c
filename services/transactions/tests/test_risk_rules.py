"""The risk rules' verdicts, pure: each rule alone, the strictest action wins, bad params."""
from dataclasses import replace
from decimal import Decimal

import pytest

from services.transactions.domain.risk.rules import (CODES, DEFAULT_RULES, Candidate, Facts, Rule, RuleError, check_rule,
                                              default_rules, evaluate)

EUR = Candidate({"EUR": Decimal("100.00")})


def eur(amount: str, country=None) -> Candidate:
    return Candidate({"EUR": Decimal(amount)}, country)


def test_an_ordinary_transfer_is_allowed():
    assert evaluate(default_rules(), EUR, Facts()).outcome == "allow"
    assert evaluate(default_rules(), EUR, Facts()).posts


@pytest.mark.parametrize("transfer, facts, code, outcome", [
    (eur("10000.01"), Facts(), "large_amount", "review"),
    (EUR, Facts(count_in_window=20), "velocity_count", "flag"),
    (EUR, Facts(sent_in_window=Decimal("24900.01")), "velocity_amount", "review"),
    (eur("2000.01"), Facts(payee_known=False), "new_payee_large", "review"),
    (EUR, Facts(duplicate=True), "duplicate_transfer", "flag"),
    (eur("100.00", "NG"), Facts(country_known=False), "unusual_country", "flag"),
])
def test_each_rule_alone(transfer, facts, code, outcome):
    verdict = evaluate(default_rules(), transfer, facts)
    assert verdict.rules == (code,) and verdict.outcome == outcome


def test_just_below_every_limit_nothing_hits():
    facts = Facts(count_in_window=19, sent_in_window=Decimal("23000.00"), payee_known=False)
    assert evaluate(default_rules(), eur("2000.00"), facts).rules == ()
    assert evaluate(default_rules(), eur("10000.00"), Facts(sent_in_window=Decimal("15000.00"))).rules == ()


def test_the_strictest_action_wins_and_disabled_rules_do_not_count():
    rules = default_rules()
    rules["duplicate_transfer"] = Rule("duplicate_transfer", True, "reject", {"window_seconds": 600})
    verdict = evaluate(rules, eur("20000.00"), Facts(duplicate=True))
    assert verdict.outcome == "reject" and verdict.rules == ("large_amount", "duplicate_transfer")
    assert not verdict.posts
    rules["duplicate_transfer"] = replace(rules["duplicate_transfer"], enabled=False)
    assert evaluate(rules, eur("20000.00"), Facts(duplicate=True)).rules == ("large_amount",)


def test_an_amount_without_a_rate_into_the_rule_currency_is_not_judged_by_it():
    assert evaluate(default_rules(), Candidate({"HUF": Decimal("99999999")}), Facts()).rules == ()


def test_the_defaults_are_valid_rules():
    for code, spec in DEFAULT_RULES.items():
        assert check_rule(code, spec["enabled"], spec["action"], spec["params"]).params == spec["params"]
    assert tuple(DEFAULT_RULES) == CODES


@pytest.mark.parametrize("code, action, params, field", [
    ("nope", "flag", {}, "code"),
    ("large_amount", "block", {"limit": "1.00", "currency": "EUR"}, "action"),
    ("large_amount", "flag", {"limit": "1.001", "currency": "EUR"}, "params.limit"),
    ("large_amount", "flag", {"limit": "-1", "currency": "EUR"}, "params.limit"),
    ("large_amount", "flag", {"limit": "1", "currency": "XXX"}, "params.currency"),
    ("large_amount", "flag", {"limit": "1"}, "params.currency"),
    ("velocity_count", "flag", {"count": True, "window_seconds": 60}, "params.count"),
    ("velocity_count", "flag", {"count": 0, "window_seconds": 60}, "params.count"),
    ("velocity_count", "flag", {"count": 5, "window_seconds": 1.5}, "params.window_seconds"),
    ("duplicate_transfer", "flag", {"window_seconds": 60, "limit": "1"}, "params.limit"),
])
def test_bad_params_name_the_field(code, action, params, field):
    with pytest.raises(RuleError) as caught:
        check_rule(code, True, action, params)
    assert caught.value.field == field
