"""The ledger (transactions service) as the accounts service sees it.

Reads: GET /internal/ledger-accounts?ids=a,b answers the ledger's view of each account it
knows. A ledger that is down, slow or answering nonsense yields None ("cannot say").

Writes (freeze, unfreeze, close, credit limit, KYC) are put to the ledger BEFORE the
accounts service commits, so they are in force when the caller gets its answer:
PUT /internal/ledger-accounts/{id} with the account's full snapshot and
PUT /internal/ledger-customers/{id} with {kyc_status, version}. The ledger applies a
snapshot whose version is at least its own and refuses what breaks its rules with a 409
(account_not_empty, account_closed), which is passed on as it is; an unreachable ledger is
LedgerUnavailable (503) and the caller rolls back.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import requests

from services.common.errors import Problem
from services.common.http_client import ServiceClient

from .domain.errors import LedgerUnavailable

log = logging.getLogger(__name__)
BATCH = 50  # ids per call: keeps the request line well under server limits
_PROBLEM_MEMBERS = ("type", "title", "status", "detail", "code")


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

    def put_account(self, snapshot: dict) -> dict:
        """Make the ledger hold this account snapshot; its view afterwards, or a Problem."""
        return self._put(f"/internal/ledger-accounts/{snapshot['account_id']}", snapshot)

    def put_customer(self, customer_id: str, kyc_status: str, version: int) -> dict:
        return self._put(f"/internal/ledger-customers/{customer_id}",
                         {"kyc_status": kyc_status, "version": version})

    def _put(self, path: str, body: dict) -> dict:
        try:
            response = self.client.request("PUT", path, json=body)
        except requests.RequestException as exc:
            log.warning("ledger unreachable", extra={"path": path, "error": str(exc)})
            raise LedgerUnavailable("The ledger cannot be reached; nothing was changed.") from None
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                pass
        elif response.status_code == 409:
            refusal = _problem_body(response)
            if refusal.get("code"):
                raise Problem(409, refusal["code"], refusal.get("detail"),
                              **{k: v for k, v in refusal.items() if k not in _PROBLEM_MEMBERS})
        # Anything else is the ledger failing (or a bug between us): not the caller's doing.
        log.error("ledger refused a snapshot", extra={"path": path, "status": response.status_code,
                                                      "body": response.text[:500]})
        raise LedgerUnavailable("The ledger did not accept the change; nothing was changed.")


def _problem_body(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
