"""What the risk rules cost per transfer on a ledger a benchmark has just filled: the three
statements risk/screen.py runs (the rules, the FX rates when a rule's currency differs, the
facts), timed from Python and, for the facts statement, as PostgreSQL executes it
(EXPLAIN ANALYZE), over a sample of the customers' real (source, payee) pairs."""
from __future__ import annotations

import random
import statistics
import time

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from services.common.sql import sqlalchemy_url
from services.transactions.domain.risk import facts as risk_facts
from services.transactions.domain.risk.rules import evaluate


def risk_cost(database_url: str, samples: int = 300) -> str:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with Session(engine) as session:
            pairs = session.execute(text(
                "SELECT substr(initiated_by, 10) AS customer, from_account_id, to_account_id, amount "
                "FROM journal_entries WHERE kind = 'transfer' AND initiated_by LIKE 'customer:%' "
                "ORDER BY created_at DESC LIMIT 2000")).all()
            if not pairs:
                return "no customer transfers to sample"
            rng = random.Random(7)
            python_ms, server_ms = [], []
            for _ in range(samples):
                customer, source, payee, amount = rng.choice(pairs)
                began = time.perf_counter()
                rules = risk_facts.load_rules(session)
                found = risk_facts.read_facts(session, rules, customer_id=customer, source_id=source, payee=payee,
                                              country=None, amount=amount, currency="EUR")
                evaluate(rules, risk_facts.candidate(session, rules, amount, "EUR", None), found)
                python_ms.append((time.perf_counter() - began) * 1000)
                plan = session.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + risk_facts._FACTS.text), {
                    "who": f"customer:{customer}", "customer": customer, "source": source, "payee": payee,
                    "country": None, "amount": amount, "currency": "EUR", "count_window": 3600,
                    "amount_window": 86400, "duplicate_window": 600}).scalar_one()
                server_ms.append(plan[0]["Execution Time"])
            session.rollback()
            decided = dict(session.execute(text("SELECT outcome, count(*) FROM risk_decisions GROUP BY 1")).all())
    finally:
        engine.dispose()
    return (f"risk evaluation per transfer ({samples} samples of the run's own transfers): "
            f"{statistics.median(python_ms):.2f} ms median, {_p99(python_ms):.2f} ms p99 from Python "
            f"(3 statements, round trips included); the facts statement executes in "
            f"{statistics.median(server_ms):.3f} ms median, {_p99(server_ms):.3f} ms p99 in PostgreSQL; "
            f"decisions recorded in the run: {decided or 'none'}")


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
