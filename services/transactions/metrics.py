"""The ledger's business metrics on /metrics (services/common/metrics.py serves them):

- ledger_transfers_total{outcome, code}: customers' transfers answered, by outcome (posted,
  flagged, review, refused) and, for a refusal, its problem code (the business refusals stored
  under the key: validation errors and 404s are in http_requests_total); replays are not counted;
- ledger_holds{state}: active holds, and those past their expiry not yet marked (the
  expire-holds job's backlog), from the partial index on active holds, at scrape time;
- risk_reviews_open, risk_review_oldest_open_seconds: the review queue, at scrape time;
- the runner's results (it runs as a CronJob, so they are read from what it recorded, at
  scrape time): scheduled_runs_last_day{status, code}, the scheduled transfers' runs recorded
  in the last 24 hours, posted or failed and the refusal's code (migration 0017's index);
  scheduled_transfers_overdue, active schedules whose next run date is already past (UTC):
  above 0 past a day boundary means the runner did not run.
The outbox's lag and dead letters and the pools' connections in use come from
services/common (outbox_admin.py, metrics.py).
"""
from __future__ import annotations

import logging

from flask import Flask
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text

from services.common.metrics import add_collector

log = logging.getLogger(__name__)

_GAUGES = text("""
    SELECT (SELECT count(*) FROM holds WHERE status = 'active' AND expires_at > now()) AS active,
           (SELECT count(*) FROM holds WHERE status = 'active' AND expires_at <= now()) AS awaiting_expiry,
           (SELECT count(*) FROM risk_reviews WHERE status = 'open') AS reviews_open,
           (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM risk_reviews
             WHERE status = 'open') AS oldest_review,
           (SELECT count(*) FROM scheduled_transfers
             WHERE status = 'active' AND next_run_date < (now() AT TIME ZONE 'UTC')::date) AS schedules_overdue
""")
_RUNS = text("""
    SELECT status, coalesce(error_code, '') AS code, count(*) AS runs FROM scheduled_runs
     WHERE created_at > now() - interval '24 hours' GROUP BY 1, 2
""")


class LedgerGauges:
    def __init__(self, engine):
        self.engine = engine

    def _families(self):
        return (GaugeMetricFamily("ledger_holds", "Holds by state", labels=["state"]),
                GaugeMetricFamily("risk_reviews_open", "Transfers waiting for a risk review"),
                GaugeMetricFamily("risk_review_oldest_open_seconds", "Age of the oldest open risk review"),
                GaugeMetricFamily("scheduled_runs_last_day",
                                  "Scheduled transfers' runs recorded in the last 24 hours, by status and code",
                                  labels=["status", "code"]),
                GaugeMetricFamily("scheduled_transfers_overdue",
                                  "Active scheduled transfers whose next run date is past (the runner did not run)"))

    def describe(self):
        return list(self._families())   # no query at registration

    def collect(self):
        holds, reviews, oldest, runs, overdue = self._families()
        try:
            with self.engine.connect() as connection:
                row = connection.execute(_GAUGES).one()
                recent_runs = connection.execute(_RUNS).all()
        except Exception:  # a scrape must not fail because the store is down
            log.warning("ledger gauges unavailable", exc_info=True)
            return []
        holds.add_metric(["active"], row.active)
        holds.add_metric(["awaiting_expiry"], row.awaiting_expiry)
        reviews.add_metric([], row.reviews_open)
        oldest.add_metric([], float(row.oldest_review))
        # Both statuses always present, so "no failures" is a 0 rather than a missing series.
        for status in ("posted", "failed"):
            if not any(r.status == status for r in recent_runs):
                runs.add_metric([status, ""], 0)
        for run in recent_runs:
            runs.add_metric([run.status, run.code], run.runs)
        overdue.add_metric([], row.schedules_overdue)
        return [holds, reviews, oldest, runs, overdue]


def init_ledger_metrics(app: Flask) -> None:
    app.extensions["transfers_total"] = Counter(
        "ledger_transfers_total", "Customers' transfers answered, by outcome and refusal code",
        ["outcome", "code"], registry=app.extensions["metrics_registry"])
    add_collector(app, LedgerGauges(app.extensions["sql_engine"]))


def count_transfer(app: Flask, response) -> None:
    """After POST /api/v1/transfers answered (not a replay)."""
    if response.headers.get("Idempotent-Replayed") == "true":
        return
    body = response.get_json(silent=True) or {}
    if response.status_code == 201:
        outcome, code = ("flagged" if body.get("risk", {}).get("outcome") == "flag" else "posted"), ""
    elif response.status_code == 202:
        outcome, code = "review", ""
    else:
        outcome, code = "refused", str(body.get("code", response.status_code))
    app.extensions["transfers_total"].labels(outcome, code).inc()
