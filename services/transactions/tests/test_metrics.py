"""The ledger's business metrics on /metrics: transfers by outcome and code (replays not
counted), holds by state, the review queue, the pool's connections in use."""
from services.transactions.tests.factories import admin_headers, customer_headers, deposit, open_account, transfer


def metric(client, line_start: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    found = [line for line in text.splitlines() if line.startswith(line_start)]
    assert found, f"{line_start} not in /metrics"
    return float(found[0].rsplit(" ", 1)[1])


def test_transfers_by_outcome_and_code_holds_and_reviews(client):
    alice, bob = open_account(client, "alice"), open_account(client, "bob")
    deposit(client, alice, "20000.00")
    assert transfer(client, "alice", alice, bob, "1.00", key="k1").status_code == 201
    assert transfer(client, "alice", alice, bob, "1.00", key="k1").status_code == 201      # a replay
    assert transfer(client, "alice", alice, bob, "12000.00").status_code == 202             # review
    assert transfer(client, "alice", alice, bob, "9000.00").status_code == 422              # the rest is held
    assert metric(client, 'ledger_transfers_total{code="",outcome="posted"}') == 1
    assert metric(client, 'ledger_transfers_total{code="",outcome="review"}') == 1
    assert metric(client, 'ledger_transfers_total{code="insufficient_funds",outcome="refused"}') == 1
    assert metric(client, 'ledger_holds{state="active"}') == 1
    assert metric(client, "risk_reviews_open") == 1
    assert metric(client, "risk_review_oldest_open_seconds") >= 0
    assert metric(client, 'db_pool_connections_in_use{pool="primary",service="transactions"}') >= 0


def test_metrics_need_no_token_and_hold_no_customer_data(client):
    alice = open_account(client, "alice")
    deposit(client, alice, "5.00")
    text = client.get("/metrics").get_data(as_text=True)
    assert "alice" not in text and alice not in text
    assert client.get("/api/v1/admin/reviews", headers=customer_headers("alice")).status_code == 403
    assert client.get("/api/v1/admin/reviews", headers=admin_headers()).status_code == 200
