"""Batch ingestion: up to a thousand transfers in one transaction, answered per item.

All accounts of the batch are locked at once in id order (so concurrent batches cannot
deadlock), every item is planned in memory against them, and the accepted ones are
written with a few bulk statements. An item that breaks a rule is answered with its
problem and moves no money; its refusal is stored under its key and replayed like a
single transfer's (a 404 is not, so it can be retried); the others go on. Keys are claimed
in sorted order, like the account locks, so two batches sharing keys cannot deadlock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ...models import idempotency_keys
from .accounts import lock_accounts_in_order
from .errors import IdempotencyKeyReused, LedgerError, NotFound, stored_refusal
from .idempotency import claim_many, record_many, request_fingerprint
from .posting import PlannedEntry, plan_entry, write_entries


@dataclass
class BatchItem:
    index: int
    key: str
    body: dict[str, Any]          # as the client sent it, for the fingerprint
    from_account_id: str
    to_account_id: str
    amount: int
    currency: str
    description: str
    category: str | None


@dataclass
class ItemResult:
    index: int
    status: int
    body: dict[str, Any]
    entry: PlannedEntry | None = None


def post_batch(session: Session, scope: str, path: str, items: list[BatchItem],
               answer: Callable[[PlannedEntry, datetime], dict],
               request_id: str | None = None) -> list[ItemResult]:
    results: dict[int, ItemResult] = {}
    seen: set[str] = set()
    fingerprints: dict[str, str] = {}
    for item in items:
        if item.key in seen:
            error = IdempotencyKeyReused("This Idempotency-Key appears twice in the batch.")
            results[item.index] = ItemResult(item.index, error.status, error.body())
            continue
        seen.add(item.key)
        fingerprints[item.key] = request_fingerprint("POST", path, item.body)
    claims = claim_many(session, scope, fingerprints)
    fresh: list[BatchItem] = []
    for item in items:
        if item.index in results:
            continue
        if item.key in claims.mine:
            fresh.append(item)
        elif item.key in claims.reused:
            error = IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
            results[item.index] = ItemResult(item.index, error.status, error.body())
        else:
            stored = claims.stored[item.key]
            results[item.index] = ItemResult(item.index, stored.status_code, stored.body)

    accounts = lock_accounts_in_order(
        session, [i.from_account_id for i in fresh] + [i.to_account_id for i in fresh])
    planned: list[tuple[BatchItem, PlannedEntry]] = []
    refused: list[BatchItem] = []
    answers: list[tuple[str, int, dict[str, Any], Any]] = []
    for item in fresh:
        try:
            for account_id in (item.from_account_id, item.to_account_id):
                found = accounts.get(account_id)
                if found is not None and found.kind != "customer":
                    raise NotFound(f"Account {account_id} does not exist.", account_id=account_id)
            entry = plan_entry(accounts, kind="transfer", amount=item.amount, currency=item.currency,
                               from_account_id=item.from_account_id, to_account_id=item.to_account_id,
                               description=item.description, category=item.category,
                               initiated_by=scope, request_id=request_id)
        except LedgerError as error:
            result = ItemResult(item.index, error.status, error.body())
            results[item.index] = result
            if stored_refusal(error):  # replayed under its key, like a single transfer's refusal
                answers.append((item.key, result.status, result.body, None))
            else:
                refused.append(item)
            continue
        planned.append((item, entry))

    created = write_entries(session, [entry for _, entry in planned], accounts)
    for item, entry in planned:
        body = answer(entry, created[entry.id])
        answers.append((item.key, 201, body, entry.id))
        results[item.index] = ItemResult(item.index, 201, body, entry)
    record_many(session, scope, answers)
    if refused:  # a 404 keeps no key, so it can be retried once the account is known
        session.execute(delete(idempotency_keys).where(
            idempotency_keys.c.scope == scope,
            idempotency_keys.c.key.in_([i.key for i in refused])))
    return [results[index] for index in sorted(results)]
