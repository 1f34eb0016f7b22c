"""deploy/monitoring, validated offline: the alert rules are well-formed Prometheus rule
groups and the Grafana dashboard well-formed JSON, and every metric either names is one
the code exports (so a renamed metric cannot leave an alert that never fires)."""
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy/monitoring"
PROMQL_WORDS = {"sum", "by", "rate", "max", "min", "and", "or", "histogram_quantile", "le", "count", "avg",
                "without", "on", "ignoring", "increase", "irate", "unless", "bool", "offset"}
LABELS = {"service", "status", "destination", "outcome", "code", "state", "pool", "method", "endpoint"}


def exported_metrics() -> set[str]:
    """Metric names the code defines: prometheus_client metrics and scrape-time families."""
    names = set()
    pattern = re.compile(r"(Counter|Gauge|Histogram|GaugeMetricFamily)\(\s*\"([a-z_]+)\"")
    for path in list((ROOT / "services").rglob("*.py")) + list((ROOT / "gateway").rglob("*.py")):
        for kind, name in pattern.findall(path.read_text()):
            names.add(name)
            if kind == "Counter":
                names.add(name if name.endswith("_total") else name + "_total")
            if kind == "Histogram":
                names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names


def metrics_in(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)           # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)          # ranges
    expr = re.sub(r"by \([^)]*\)", "", expr)
    return {word for word in re.findall(r"[a-z_][a-z0-9_]*", expr)
            if word not in PROMQL_WORDS and word not in LABELS}


def rules() -> list[dict]:
    document = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    assert document["kind"] == "PrometheusRule" and document["apiVersion"] == "monitoring.coreos.com/v1"
    return [rule for group in document["spec"]["groups"] for rule in group["rules"]]


def test_every_alert_is_complete():
    found = rules()
    assert len(found) >= 8
    for rule in found:
        assert re.fullmatch(r"Finova[A-Za-z]+", rule["alert"]), rule
        assert rule["expr"] and re.fullmatch(r"\d+[smh]", rule["for"]), rule
        assert rule["labels"]["severity"] in ("page", "ticket") and rule["annotations"]["summary"], rule
    assert len({rule["alert"] for rule in found}) == len(found)


def test_the_alerts_and_the_dashboard_name_only_exported_metrics():
    exported = exported_metrics()
    assert {"ledger_transfers_total", "outbox_lag_seconds", "db_pool_connections_in_use"} <= exported
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    expressions = [rule["expr"] for rule in rules()] + [
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    for expr in expressions:
        unknown = metrics_in(expr) - exported
        assert not unknown, f"{expr}: {unknown} not exported by the code"


def test_the_dashboard_covers_the_business_metrics():
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    named = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel["targets"])
    for metric in ("ledger_transfers_total", "ledger_holds", "risk_reviews_open", "outbox_lag_seconds",
                   "outbox_dead_letters", "db_pool_connections_in_use"):
        assert metric in named, metric
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
