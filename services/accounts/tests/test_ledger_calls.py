"""The domain's ledger calls, with a fake ledger injected (no HTTP): the snapshot put is the
row as it will commit, a change the database refuses never reaches the ledger, and a ledger
refusal leaves nothing behind."""
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from services.accounts.db import act_as_system, install_rls_scoping
from services.accounts.domain import accounts, audit, customers
from services.accounts.domain.errors import LedgerUnavailable
from services.common.errors import DomainError, Problem
from services.common.sql import sqlalchemy_url

from .factories import open_account, register


class FakeLedger:
    """Records what the domain puts; raises `refusal` instead when set."""

    def __init__(self):
        self.accounts: list[dict] = []
        self.customers: list[tuple] = []
        self.refusal: Exception | None = None

    def put_account(self, snapshot: dict) -> dict:
        if self.refusal:
            raise self.refusal
        self.accounts.append(snapshot)
        return {"account_id": snapshot["account_id"], "version": snapshot["version"]}

    def put_customer(self, customer_id: str, kyc_status: str, version: int) -> dict:
        if self.refusal:
            raise self.refusal
        self.customers.append((customer_id, kyc_status, version))
        return {"customer_id": customer_id, "kyc_status": kyc_status, "version": version}


@pytest.fixture
def session(accounts_db):
    engine = create_engine(sqlalchemy_url(accounts_db.app_url))
    factory = sessionmaker(engine, expire_on_commit=False)
    install_rls_scoping(factory)
    with factory() as session:
        yield act_as_system(session)
    engine.dispose()


@pytest.fixture
def account(client):
    return open_account(client, register(client)["id"])


def published(events: list):
    return lambda event_type, data: events.append((event_type, data))


def test_the_snapshot_put_is_the_row_that_commits(session, account):
    ledger, events = FakeLedger(), []
    frozen = accounts.set_status(session, ledger, account["id"], "frozen", audit.SYSTEM, published(events))
    session.commit()
    assert ledger.accounts == [accounts.snapshot(frozen)] == [data for _type, data in events]
    assert ledger.accounts[0]["version"] == 2 and ledger.accounts[0]["status"] == "frozen"


def test_a_change_the_database_refuses_never_reaches_the_ledger(session, account):
    ledger = FakeLedger()
    row = accounts.get_account(session, account["id"], lock=True)
    with pytest.raises(IntegrityError, match="ck_bank_accounts_overdraft_limit"):
        accounts._change(session, ledger, row, overdraft_limit=Decimal("-1"))
    assert ledger.accounts == []


@pytest.mark.parametrize("refusal", [LedgerUnavailable("down"), Problem(409, "account_closed", "closed")])
def test_a_ledger_refusal_leaves_nothing_behind(session, account, owner_engines, refusal):
    ledger, events = FakeLedger(), []
    ledger.refusal = refusal
    owner = str(accounts.get_account(session, account["id"]).customer_id)
    session.rollback()
    with pytest.raises(DomainError) as raised:
        accounts.set_status(session, ledger, account["id"], "frozen", audit.SYSTEM, published(events))
    session.rollback()  # what the request's teardown does with an error
    assert raised.value is refusal and events == []
    with pytest.raises(DomainError):
        customers.decide_kyc(session, ledger, owner, "verified", None, audit.SYSTEM, published(events))
    session.rollback()
    with owner_engines["accounts"].connect() as connection:
        assert tuple(connection.execute(text("SELECT status, version FROM bank_accounts")).one()) == ("active", 1)
        assert connection.execute(text("SELECT kyc_status FROM customers")).scalar_one() == "unverified"
