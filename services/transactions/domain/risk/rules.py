"""The bank's risk rules and their verdict on one transfer: pure, no database.

Each rule has a code, `enabled`, an `action` (`flag`: post and alert, `review`: hold the
amount until an admin decides, `reject`: refuse with 422 `transfer_rejected`) and params
(API.md "Risk rule params"). The facts a rule needs (how many transfers the customer sent
in a window, whether they paid this payee or country before, a duplicate) are read by the
caller from indexed aggregates (risk/facts.py) and passed in `Facts`, amounts already in
the rule's currency; the verdict is the strictest action among the rules hit
(reject > review > flag).

Defaults a retail bank starts with (DEFAULT_RULES, seeded by migration 0015), amounts in
EUR, the bank's base currency, other currencies converted at the rate in force:
- large_amount: review a transfer above 10,000.00;
- velocity_count: flag the 21st transfer within an hour;
- velocity_amount: review what takes the customer past 25,000.00 sent in 24 hours;
- new_payee_large: review a first transfer to a payee above 2,000.00;
- duplicate_transfer: flag the same source, payee and amount again within 10 minutes;
- unusual_country: flag an external transfer to a country the customer never paid (the
  customer is told at once; a review of every first payment abroad would stall too many).
"""
from __future__ import annotations

import re

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from services.common.amounts import AmountError, parse_amount
from services.common.currency import minor_units

CODES = ("large_amount", "velocity_count", "velocity_amount", "new_payee_large", "duplicate_transfer",
         "unusual_country")
ACTIONS = ("flag", "review", "reject")
_SEVERITY = {"allow": 0, "flag": 1, "review": 2, "reject": 3}
MAX_WINDOW_SECONDS = 31 * 86400
MAX_COUNT = 1_000_000

# The params each rule takes, by kind: an amount (decimal string), a currency, a count, a window.
PARAMS: dict[str, dict[str, str]] = {
    "large_amount": {"limit": "amount", "currency": "currency"},
    "velocity_count": {"count": "count", "window_seconds": "window"},
    "velocity_amount": {"amount": "amount", "currency": "currency", "window_seconds": "window"},
    "new_payee_large": {"limit": "amount", "currency": "currency"},
    "duplicate_transfer": {"window_seconds": "window"},
    "unusual_country": {},
}

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "large_amount": {"enabled": True, "action": "review", "params": {"limit": "10000.00", "currency": "EUR"}},
    "velocity_count": {"enabled": True, "action": "flag", "params": {"count": 20, "window_seconds": 3600}},
    "velocity_amount": {"enabled": True, "action": "review",
                        "params": {"amount": "25000.00", "currency": "EUR", "window_seconds": 86400}},
    "new_payee_large": {"enabled": True, "action": "review", "params": {"limit": "2000.00", "currency": "EUR"}},
    "duplicate_transfer": {"enabled": True, "action": "flag", "params": {"window_seconds": 600}},
    "unusual_country": {"enabled": True, "action": "flag", "params": {}},
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

    @property
    def currency(self) -> str | None:
        return self.params.get("currency")

    @property
    def window_seconds(self) -> int | None:
        return self.params.get("window_seconds")

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "enabled": self.enabled, "action": self.action, "params": dict(self.params)}


@dataclass(frozen=True)
class Candidate:
    """The transfer being decided, as the rules see it: its amount in each currency the
    rules name (converted by the caller; a currency without a rate is absent)."""
    amount_in: Mapping[str, Decimal]
    country: str | None = None     # an external transfer's country (IBAN), None for internal


@dataclass(frozen=True)
class Facts:
    """What the aggregates say about the customer before this transfer."""
    count_in_window: int = 0                  # transfers in velocity_count's window
    sent_in_window: Decimal = Decimal(0)      # sent in velocity_amount's window, in its currency
    payee_known: bool = True
    duplicate: bool = False                   # same source, payee, amount within the window
    country_known: bool = True


@dataclass(frozen=True)
class Verdict:
    outcome: str                   # allow, flag, review or reject
    rules: tuple[str, ...]         # the codes hit, in CODES order

    @property
    def posts(self) -> bool:
        return self.outcome in ("allow", "flag")


ALLOW = Verdict("allow", ())


def check_rule(code: str, enabled: bool, action: str, params: Mapping[str, Any]) -> Rule:
    """A rule as an admin sets it (every param its code takes, of its kind), or RuleError."""
    if code not in CODES:
        raise RuleError("code", f"Unknown rule {code}.")
    if action not in ACTIONS:
        raise RuleError("action", f"One of {', '.join(ACTIONS)}.")
    if not isinstance(params, Mapping):
        raise RuleError("params", "An object.")
    wanted = PARAMS[code]
    for name in params:
        if name not in wanted:
            raise RuleError(f"params.{name}", f"{code} takes no {name}.")
    checked: dict[str, Any] = {}
    for name, kind in wanted.items():
        if name not in params:
            raise RuleError(f"params.{name}", f"{code} needs {name}.")
        checked[name] = _param(kind, name, params[name], params.get("currency"))
    return Rule(code, enabled, action, checked)


def _param(kind: str, name: str, value: Any, currency: Any) -> Any:
    if kind in ("count", "window"):
        top = MAX_COUNT if kind == "count" else MAX_WINDOW_SECONDS
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise RuleError(f"params.{name}", f"A whole number from 1 to {top}.")
        return value
    if kind == "currency":
        if not _is_currency(value):
            raise RuleError(f"params.{name}", "An ISO 4217 currency code.")
        return value
    if not _is_currency(currency):
        raise RuleError("params.currency", "An ISO 4217 currency code.")
    try:
        return str(parse_amount(value, currency))
    except AmountError as error:
        raise RuleError(f"params.{name}", str(error)) from None


def _is_currency(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value) is not None and minor_units(value) is not None


def evaluate(rules: Mapping[str, Rule], transfer: Candidate, facts: Facts) -> Verdict:
    hits = [code for code in CODES if code in rules and rules[code].enabled
            and _HITS[code](rules[code].params, transfer, facts)]
    outcome = max((rules[code].action for code in hits), key=_SEVERITY.__getitem__, default="allow")
    return Verdict(outcome, tuple(hits))


def _over(params: Mapping[str, Any], field: str, transfer: Candidate, already: Decimal = Decimal(0)) -> bool:
    amount = transfer.amount_in.get(params["currency"])
    return amount is not None and already + amount > Decimal(params[field])


def _large_amount(params, transfer: Candidate, _facts: Facts) -> bool:
    return _over(params, "limit", transfer)


def _velocity_count(params, _transfer: Candidate, facts: Facts) -> bool:
    return facts.count_in_window + 1 > params["count"]


def _velocity_amount(params, transfer: Candidate, facts: Facts) -> bool:
    return _over(params, "amount", transfer, facts.sent_in_window)


def _new_payee_large(params, transfer: Candidate, facts: Facts) -> bool:
    return not facts.payee_known and _over(params, "limit", transfer)


def _duplicate(_params, _transfer: Candidate, facts: Facts) -> bool:
    return facts.duplicate


def _unusual_country(_params, transfer: Candidate, facts: Facts) -> bool:
    return transfer.country is not None and not facts.country_known


_HITS = {"large_amount": _large_amount, "velocity_count": _velocity_count, "velocity_amount": _velocity_amount,
         "new_payee_large": _new_payee_large, "duplicate_transfer": _duplicate, "unusual_country": _unusual_country}


def default_rules() -> dict[str, Rule]:
    return {code: Rule(code, spec["enabled"], spec["action"], spec["params"]) for code, spec in DEFAULT_RULES.items()}
