"""Many clients moving money at once over HTTP against the real gunicorn ledger."""
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from sqlalchemy import text

from tests.support.tokens import auth_header

pytestmark = pytest.mark.e2e
ACCOUNTS = 6
THREADS = 24
TRANSFERS_PER_THREAD = 25


def test_random_transfers_conserve_money_and_keep_every_rule(suite, suite_owner_engines):
    base = suite.url("transactions")
    as_accounts = auth_header("transactions", caller="accounts")
    owners = {f"conc-{n}-{uuid.uuid4().hex[:6]}": f"cust-{n}" for n in range(ACCOUNTS)}
    for account_id, customer in owners.items():
        # Small overdrafts on some, so the limit itself is under contention too.
        overdraft = "20.00" if customer.endswith(("0", "1")) else "0.00"
        event = {"id": str(uuid.uuid4()), "type": "account.opened", "source": "accounts",
                 "occurred_at": "2026-11-25T00:00:00Z",
                 "data": {"account_id": account_id, "customer_id": customer, "currency": "EUR",
                          "type": "checking", "overdraft_limit": overdraft}}
        assert requests.post(base + "/internal/events", json=event, headers=as_accounts, timeout=10).ok
        assert requests.put(f"{base}/internal/ledger-customers/{customer}", headers=as_accounts, timeout=10,
                            json={"kyc_status": "verified", "version": 1}).ok
        admin = {**auth_header("transactions", subject="ops", roles=("admin",)), "Idempotency-Key": uuid.uuid4().hex}
        assert requests.post(base + "/api/v1/admin/deposits", headers=admin, timeout=10,
                             json={"account_id": account_id, "amount": "50.00", "currency": "EUR"}).status_code == 201

    def client(seed):
        rng = random.Random(seed)
        session = requests.Session()
        outcomes = []
        for _ in range(TRANSFERS_PER_THREAD):
            source, target = rng.sample(list(owners), 2)
            headers = {**auth_header("transactions", subject=owners[source]), "Idempotency-Key": uuid.uuid4().hex}
            amount = f"{rng.randint(1, 3000) / 100:.2f}"
            response = session.post(base + "/api/v1/transfers", headers=headers, timeout=30,
                                    json={"from_account_id": source, "to_account_id": target,
                                          "amount": amount, "currency": "EUR"})
            outcomes.append((response.status_code, response.json().get("code"), response.json().get("id")))
        return outcomes

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [o for batch in pool.map(client, range(THREADS)) for o in batch]

    statuses = {status for status, _, _ in outcomes}
    assert statuses <= {201, 422}, statuses            # no 5xx, no deadlock, no lost request
    assert all(code == "insufficient_funds" for status, code, _ in outcomes if status == 422)
    posted = [transfer_id for status, _, transfer_id in outcomes if status == 201]
    assert posted and len(set(posted)) == len(posted)

    with suite_owner_engines["transactions"].connect() as connection:
        ids = list(owners)
        total = connection.execute(text("SELECT sum(balance) FROM ledger_accounts WHERE id = ANY(:ids)"),
                                   {"ids": ids}).scalar_one()
        assert Decimal(total) == ACCOUNTS * 5000  # minor units: 6 x 50.00, nothing created or lost
        below = connection.execute(text("SELECT count(*) FROM ledger_accounts "
                                        "WHERE NOT may_go_negative AND balance < -overdraft_limit")).scalar_one()
        assert below == 0
        differs = connection.execute(text(
            "SELECT count(*) FROM ledger_accounts a WHERE a.id = ANY(:ids) AND a.balance <> "
            "(SELECT coalesce(sum(amount), 0) FROM postings p WHERE p.account_id = a.id)"), {"ids": ids}).scalar_one()
        assert differs == 0
        entries = connection.execute(text("SELECT count(*) FROM journal_entries WHERE id = ANY(CAST(:ids AS uuid[]))"),
                                     {"ids": posted}).scalar_one()
        assert entries == len(posted)           # every acknowledged transfer is there, once
    admin = auth_header("transactions", subject="ops", roles=("admin",))
    check = requests.get(base + "/api/v1/admin/ledger-check?run=now", headers=admin, timeout=60).json()
    assert check["ok"] and check["violations"] == []
