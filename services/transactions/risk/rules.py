"""The bank's risk rules and their verdict on one transfer: pure, no database.

Each rule has a code, `enabled`, an `action` (`flag`: post and alert, `review`: hold the
amount until an admin decides, `reject`: refuse with 422 `transfer_rejected`) and params.
The facts a rule needs (how many transfers the customer sent in a window, to whom before,
which countries) are read by the caller from indexed aggregates and passed in `Facts`; the
verdict is the strictest action among the rules hit (reject > review > flag).

Defaults a retail bank starts with (DEFAULT_RULES), amounts in the transfer's currency:
- large_amount: review above 10,000 (EUR, USD, GBP, CHF; 1,500,000 JPY);
- velocity_count: flag more than 20 transfers in 60 minutes;
- velocity_amount: review more than 25,000 sent in 24 hours;
- new_payee_large: review a first transfer to a payee above 2,000;
- duplicate_transfer: flag the same source, payee and amount within 10 minutes;
- unusual_country: review an external transfer to a country the customer never paid.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from services.common.amounts import AmountError, parse_amount

CODES = ("large_amount", "velocity_count", "velocity_amount", "new_payee_large", "duplicate_transfer",
         "unusual_country")
ACTIONS = ("flag", "review", "reject")
_SEVERITY = {"allow": 0, "flag": 1, "review": 2, "reject": 3}

_TEN_THOUSAND = {"EUR": "10000.00", "USD": "10000.00", "GBP": "10000.00", "CHF": "10000.00", "JPY": "1500000"}
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "large_amount": {"enabled": True, "action": "review", "params": {"limits": _TEN_THOUSAND}},
    "velocity_count": {"enabled": True, "action": "flag", "params": {"max_transfers": 20, "window_minutes": 60}},
    "velocity_amount": {"enabled": True, "action": "review",
                        "params": {"limits": {"EUR": "25000.00", "USD": "25000.00", "GBP": "25000.00",
                                              "CHF": "25000.00", "JPY": "3750000"}, "window_minutes": 1440}},
    "new_payee_large": {"enabled": True, "action": "review",
                        "params": {"limits": {"EUR": "2000.00", "USD": "2000.00", "GBP": "2000.00",
                                              "CHF": "2000.00", "JPY": "300000"}}},
    "duplicate_transfer": {"enabled": True, "action": "flag", "params": {"window_minutes": 10}},
    "unusual_country": {"enabled": True, "action": "review", "params": {}},
}


class RuleError(ValueError):
    """Params a rule cannot run with; `field` names the param."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Rule:
    code: str
    enabled: bool
    action: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Candidate:
    """The transfer being decided, as the rules see it."""
    amount: Decimal
    currency: str
    payee: str                     # the destination account id or IBAN
    country: str | None = None     # an external transfer's country (IBAN), None for internal


@dataclass(frozen=True)
class Facts:
    """What the aggregates say about the customer before this transfer."""
    count_in_window: Mapping[int, int] = field(default_factory=dict)          # window minutes -> transfers
    amount_in_window: Mapping[int, Decimal] = field(default_factory=dict)     # window minutes -> sent, same currency
    payee_known: bool = True
    duplicate_within: int | None = None    # minutes since the same source/payee/amount, None: never
    country_known: bool = True


@dataclass(frozen=True)
class Verdict:
    outcome: str                   # allow, flag, review or reject
    rules: tuple[str, ...]         # the codes hit, in CODES order

    @property
    def posts(self) -> bool:
        return self.outcome in ("allow", "flag")


def check_rule(code: str, action: str, params: Mapping[str, Any]) -> Rule:
    """A rule as an admin sets it, or RuleError."""
    if code not in CODES:
        raise RuleError("code", f"Unknown rule {code}.")
    if action not in ACTIONS:
        raise RuleError("action", f"One of {', '.join(ACTIONS)}.")
    for name, value in params.items():
        if name in ("max_transfers", "window_minutes"):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000_000:
                raise RuleError(f"params.{name}", "A whole number from 1.")
        elif name == "limits":
            if not isinstance(value, Mapping) or not value:
                raise RuleError("params.limits", "An object of currency codes to amounts.")
            for currency, amount in value.items():
                try:
                    parse_amount(amount, currency)
                except AmountError as error:
                    raise RuleError(f"params.limits.{currency}", str(error)) from None
        else:
            raise RuleError(f"params.{name}", f"{code} takes no {name}.")
    return Rule(code, True, action, dict(params))


def evaluate(rules: Mapping[str, Rule], transfer: Candidate, facts: Facts) -> Verdict:
    hits = [code for code in CODES if code in rules and rules[code].enabled
            and _HITS[code](rules[code].params, transfer, facts)]
    outcome = max((rules[code].action for code in hits), key=_SEVERITY.__getitem__, default="allow")
    return Verdict(outcome, tuple(hits))


def _limit(params: Mapping[str, Any], currency: str) -> Decimal | None:
    found = (params.get("limits") or {}).get(currency)
    return None if found is None else Decimal(found)


def _large_amount(params, transfer: Candidate, _facts: Facts) -> bool:
    limit = _limit(params, transfer.currency)
    return limit is not None and transfer.amount > limit


def _velocity_count(params, _transfer: Candidate, facts: Facts) -> bool:
    window = params.get("window_minutes", 60)
    return facts.count_in_window.get(window, 0) + 1 > params.get("max_transfers", 20)


def _velocity_amount(params, transfer: Candidate, facts: Facts) -> bool:
    limit = _limit(params, transfer.currency)
    window = params.get("window_minutes", 1440)
    return limit is not None and facts.amount_in_window.get(window, Decimal(0)) + transfer.amount > limit


def _new_payee_large(params, transfer: Candidate, facts: Facts) -> bool:
    limit = _limit(params, transfer.currency)
    return not facts.payee_known and limit is not None and transfer.amount > limit


def _duplicate(params, _transfer: Candidate, facts: Facts) -> bool:
    return facts.duplicate_within is not None and facts.duplicate_within <= params.get("window_minutes", 10)


def _unusual_country(_params, transfer: Candidate, facts: Facts) -> bool:
    return transfer.country is not None and not facts.country_known


_HITS = {"large_amount": _large_amount, "velocity_count": _velocity_count, "velocity_amount": _velocity_amount,
         "new_payee_large": _new_payee_large, "duplicate_transfer": _duplicate, "unusual_country": _unusual_country}


def default_rules() -> dict[str, Rule]:
    return {code: Rule(code, spec["enabled"], spec["action"], spec["params"]) for code, spec in DEFAULT_RULES.items()}
