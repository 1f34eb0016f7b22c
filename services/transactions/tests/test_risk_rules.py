"""The risk rules' verdicts, pure: each rule alone, the strictest action wins, bad params."""
from dataclasses import replace
from decimal import Decimal

import pytest

from services.transactions.risk.rules import (CODES, Candidate, Facts, Rule, RuleError, check_rule, default_rules,
                                              evaluate)

EUR = Candidate(Decimal("100.00"), "EUR", "acc-payee")


def test_an_ordinary_transfer_is_allowed():
    assert evaluate(default_rules(), EUR, Facts()).outcome == "allow"
    assert evaluate(default_rules(), EUR, Facts()).posts


@pytest.mark.parametrize("transfer, facts, code, outcome", [
    (replace(EUR, amount=Decimal("10000.01")), Facts(), "large_amount", "review"),
    (EUR, Facts(count_in_window={60: 20}), "velocity_count", "flag"),
    (EUR, Facts(amount_in_window={1440: Decimal("24900.01")}), "velocity_amount", "review"),
    (replace(EUR, amount=Decimal("2000.01")), Facts(payee_known=False), "new_payee_large", "review"),
    (EUR, Facts(duplicate_within=3), "duplicate_transfer", "flag"),
    (replace(EUR, country="NG", payee="NG..."), Facts(country_known=False), "unusual_country", "review"),
])
def test_each_rule_alone(transfer, facts, code, outcome):
    verdict = evaluate(default_rules(), transfer, facts)
    assert verdict.rules == (code,) and verdict.outcome == outcome


def test_just_below_every_limit_nothing_hits():
    facts = Facts(count_in_window={60: 19}, amount_in_window={1440: Decimal("14900.00")}, payee_known=False,
                  duplicate_within=11)
    assert evaluate(default_rules(), replace(EUR, amount=Decimal("2000.00")), facts).rules == ()


def test_the_strictest_action_wins_and_disabled_rules_do_not_count():
    rules = default_rules()
    rules["duplicate_transfer"] = Rule("duplicate_transfer", True, "reject", {"window_minutes": 10})
    big_duplicate = replace(EUR, amount=Decimal("20000.00"))
    verdict = evaluate(rules, big_duplicate, Facts(duplicate_within=1))
    assert verdict.outcome == "reject" and verdict.rules == ("large_amount", "duplicate_transfer")
    assert not verdict.posts
    rules["duplicate_transfer"] = replace(rules["duplicate_transfer"], enabled=False)
    assert evaluate(rules, big_duplicate, Facts(duplicate_within=1)).rules == ("large_amount",)


def test_a_currency_without_a_limit_is_not_judged_by_another_currency():
    assert evaluate(default_rules(), Candidate(Decimal("99999999"), "HUF", "x"), Facts()).rules == ()


@pytest.mark.parametrize("code, action, params, field", [
    ("no_such_rule", "flag", {}, "code"),
    ("large_amount", "block", {}, "action"),
    ("large_amount", "flag", {"limits": {"EUR": "-5.00"}}, "params.limits.EUR"),
    ("large_amount", "flag", {"limits": {"EUR": "1.001"}}, "params.limits.EUR"),
    ("large_amount", "flag", {"limits": {"ZZZ": "1.00"}}, "params.limits.ZZZ"),
    ("large_amount", "flag", {"limits": []}, "params.limits"),
    ("velocity_count", "flag", {"max_transfers": -1}, "params.max_transfers"),
    ("velocity_count", "flag", {"max_transfers": "20"}, "params.max_transfers"),
    ("velocity_count", "flag", {"window_minutes": True}, "params.window_minutes"),
    ("velocity_count", "flag", {"colour": "red"}, "params.colour"),
])
def test_bad_rule_settings_name_their_field(code, action, params, field):
    with pytest.raises(RuleError) as error:
        check_rule(code, action, params)
    assert error.value.field == field


def test_every_rule_has_a_default():
    assert set(default_rules()) == set(CODES)
