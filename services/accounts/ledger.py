"""Balances come from the ledger (transactions service); this asks it, briefly.

GET /internal/ledger-accounts?ids=a,b answers the ledger's view of each account it knows.
A ledger that is down, slow or answering nonsense yields None ("cannot say"), never an error.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import requests

from services.common.http_client import ServiceClient

log = logging.getLogger(__name__)
BATCH = 50  # ids per call: keeps the request line well under server limits


@dataclass(frozen=True)
class LedgerBalance:
    balance: Decimal
    available_balance: Decimal
    held: Decimal


class LedgerClient:
    def __init__(self, client: ServiceClient):
        self.client = client

    def balances(self, account_ids: list[str]) -> dict[str, LedgerBalance] | None:
        """Balances by account id (accounts the ledger does not know are missing), or None."""
        found: dict[str, LedgerBalance] = {}
        for start in range(0, len(account_ids), BATCH):
            batch = account_ids[start:start + BATCH]
            try:
                response = self.client.get("/internal/ledger-accounts", params={"ids": ",".join(batch)})
                if response.status_code != 200:
                    raise ValueError(f"HTTP {response.status_code}")
                for item in response.json()["items"]:
                    found[str(item["account_id"])] = LedgerBalance(
                        Decimal(item["balance"]), Decimal(item["available_balance"]),
                        Decimal(item.get("held") or "0"))
            except (requests.RequestException, ValueError, KeyError, TypeError, InvalidOperation) as exc:
                log.warning("ledger balances unavailable", extra={"error": str(exc)})
                return None
        return found
