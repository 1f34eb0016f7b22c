"""What the risk rules read about a customer, from indexed aggregates only:

- velocity: the customer's transfers in a window, by the index on journal_entries
  (initiated_by, created_at) INCLUDE (amount, currency, kind), an index-only range scan of
  that customer's last window and nothing else;
- duplicate: the same source, payee and amount within a window, by the index on
  (from_account_id, created_at), joined to the external transfer's IBAN when there is one;
- payees and countries paid before: risk_payees by primary key and (customer_id, country).
One statement for all of them, plus the six rule rows: well under a millisecond of
database time per transfer (bench/transfers.py figures in docs/benchmarks.md).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Mapping

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common.amounts import from_minor
from services.common.currency import minor_units

from ..books.fx import convert, rate_at
from .rules import Candidate, Facts, Rule, check_rule

_RULES = text("SELECT code, enabled, action, params FROM risk_rules")

_FACTS = text("""
SELECT
  (SELECT count(*) FROM journal_entries
    WHERE initiated_by = :who AND created_at > now() - make_interval(secs => :count_window)
      AND kind IN ('transfer', 'external_transfer')) AS recent_count,
  (SELECT coalesce(json_object_agg(currency, total), '{}') FROM (
      SELECT currency, sum(amount) AS total FROM journal_entries
       WHERE initiated_by = :who AND created_at > now() - make_interval(secs => :amount_window)
         AND kind IN ('transfer', 'external_transfer')
       GROUP BY currency) AS sent) AS recent_amounts,
  EXISTS (SELECT 1 FROM risk_payees WHERE customer_id = :customer AND payee = :payee) AS payee_known,
  (CAST(:country AS text) IS NULL OR EXISTS (
      SELECT 1 FROM risk_payees WHERE customer_id = :customer AND country = :country)) AS country_known,
  EXISTS (SELECT 1 FROM journal_entries e LEFT JOIN external_transfers x ON x.entry_id = e.id
           WHERE e.from_account_id = :source AND e.created_at > now() - make_interval(secs => :duplicate_window)
             AND e.amount = :amount AND e.currency = :currency
             AND e.kind IN ('transfer', 'external_transfer')
             AND coalesce(x.iban, e.to_account_id) = :payee) AS duplicate
""")


def load_rules(session: Session) -> dict[str, Rule]:
    rules = {}
    for row in session.execute(_RULES):
        rules[row.code] = check_rule(row.code, row.enabled, row.action, row.params)
    return rules


def candidate(session: Session, rules: Mapping[str, Rule], amount: int, currency: str,
              country: str | None) -> Candidate:
    """The amount in its own currency and in each currency a rule names, at the rate in
    force (a currency without a rate is left out, so its rules do not judge this transfer)."""
    wanted = {currency} | {rule.currency for rule in rules.values() if rule.currency}
    return Candidate({target: value for target in wanted
                      if (value := _in(session, amount, currency, target)) is not None}, country)


def _in(session: Session, amount: int, currency: str, target: str) -> Decimal | None:
    if target == currency:
        return Decimal(from_minor(amount, currency))
    rate = rate_at(session, currency, target)
    if rate is None:
        return None
    return Decimal(from_minor(convert(amount, currency, target, rate), target))


def read_facts(session: Session, rules: Mapping[str, Rule], *, customer_id: str, source_id: str, payee: str,
               country: str | None, amount: int, currency: str) -> Facts:
    row = session.execute(_FACTS, {
        "who": f"customer:{customer_id}", "customer": customer_id, "source": source_id, "payee": payee,
        "country": country, "amount": amount, "currency": currency,
        "count_window": _window(rules, "velocity_count"), "amount_window": _window(rules, "velocity_amount"),
        "duplicate_window": _window(rules, "duplicate_transfer")}).one()
    return Facts(count_in_window=row.recent_count,
                 sent_in_window=_sent(session, rules.get("velocity_amount"), row.recent_amounts),
                 payee_known=row.payee_known, duplicate=row.duplicate, country_known=row.country_known)


def _window(rules: Mapping[str, Rule], code: str) -> int:
    rule = rules.get(code)
    return rule.window_seconds if rule is not None and rule.enabled else 0


def _sent(session: Session, rule: Rule | None, by_currency: dict[str, int]) -> Decimal:
    """What the customer sent in the window, in the rule's currency (each currency at the
    rate in force; one without a rate counts nothing)."""
    if rule is None or not rule.enabled:
        return Decimal(0)
    total = Decimal(0)
    for currency, minor in by_currency.items():
        currency = currency.strip()
        if minor_units(currency) is None:
            continue
        converted = _in(session, int(minor), currency, rule.currency)
        total += converted or 0
    return total


_REMEMBER = text("""
INSERT INTO risk_payees (customer_id, payee, country) VALUES (:customer, :payee, :country)
ON CONFLICT DO NOTHING
""")


def remember_payee(session: Session, customer_id: str, payee: str, country: str | None) -> None:
    """The customer has paid this payee (and its country): later transfers know it."""
    session.execute(_REMEMBER, {"customer": customer_id, "payee": payee, "country": country})


BACKFILL_PAYEES = text("""
INSERT INTO risk_payees (customer_id, payee, country, first_at)
SELECT substr(e.initiated_by, 10), coalesce(x.iban, e.to_account_id), min(x.country), min(e.created_at)
  FROM journal_entries e LEFT JOIN external_transfers x ON x.entry_id = e.id
 WHERE e.kind IN ('transfer', 'external_transfer') AND e.initiated_by LIKE 'customer:%'
 GROUP BY 1, 2
ON CONFLICT DO NOTHING
""")
