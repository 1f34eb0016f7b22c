"""The risk rules on the posting path: the ledger calls `Screen.check` after ownership, KYC
and account status and before funds (API.md, order of checks), for a customer's transfer to
someone else (own-account moves are not screened: the money stays the customer's).

`check` reads the rules and the facts (risk/facts.py), keeps the verdict, and raises
`Screened` when the transfer is not to post now (review or reject): nothing is written yet
at that point, so the caller turns it into a hold and a review, or a stored refusal, inside
the same transaction and savepoint as the Idempotency-Key's answer. A transfer that posts
(allowed or flagged) is remembered as a payee paid (`posted`), and a flag is recorded.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from .facts import candidate, load_rules, read_facts, remember_payee
from .rules import ALLOW, Verdict, evaluate


@dataclass(frozen=True)
class Judged:
    """The transfer as the rules judged it."""
    customer_id: str
    source_id: str
    payee: str
    country: str | None
    amount: int
    currency: str
    verdict: Verdict


class Screened(Exception):
    """The rules say review or reject: the transfer does not post now."""

    def __init__(self, judged: Judged):
        super().__init__(judged.verdict.outcome)
        self.judged = judged


class Screen:
    def __init__(self) -> None:
        self.judged: Judged | None = None

    @property
    def verdict(self) -> Verdict:
        return self.judged.verdict if self.judged else ALLOW

    def check(self, session: Session, source, *, payee: str, country: str | None, amount: int,
              currency: str) -> None:
        rules = load_rules(session)
        facts = read_facts(session, rules, customer_id=source.customer_id, source_id=source.id, payee=payee,
                           country=country, amount=amount, currency=currency)
        verdict = evaluate(rules, candidate(session, rules, amount, currency, country), facts)
        self.judged = Judged(source.customer_id, source.id, payee, country, amount, currency, verdict)
        if not verdict.posts:
            raise Screened(self.judged)

    def posted(self, session: Session, transfer_id: uuid.UUID) -> None:
        """The transfer posted: its payee is known from now on; a flag is on record."""
        if self.judged is None:
            return
        remember(session, self.judged)
        if self.judged.verdict.outcome == "flag":
            record_decision(session, transfer_id, self.judged)


def remember(session: Session, judged: Judged) -> None:
    remember_payee(session, judged.customer_id, judged.payee, judged.country)


_DECISION = text("""
INSERT INTO risk_decisions (transfer_id, customer_id, outcome, rules, amount, currency)
VALUES (:transfer_id, :customer_id, :outcome, :rules, :amount, :currency)
""")


def record_decision(session: Session, transfer_id: uuid.UUID, judged: Judged) -> None:
    session.execute(_DECISION, {"transfer_id": transfer_id, "customer_id": judged.customer_id,
                                "outcome": judged.verdict.outcome, "rules": list(judged.verdict.rules),
                                "amount": judged.amount, "currency": judged.currency})
