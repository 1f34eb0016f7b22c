"""Which service owns which public path. The first matching pattern wins.

Overridable with GATEWAY_ROUTES (a JSON list of [pattern, service]) so ops can re-home a
path without a release; the default below follows docs/api.md.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

DEFAULT_ROUTES: list[tuple[str, str]] = [
    # Statement lines and balance history are the ledger's, although they sit under an
    # account's path.
    (r"^/api/v1/accounts/[^/]+/transactions(/[^/]+)?/?$", "transactions"),
    (r"^/api/v1/accounts/[^/]+/balance-history/?$", "transactions"),
    (r"^/api/v1/(auth|me|accounts|account-types)(/|$)", "accounts"),
    (r"^/api/v1/admin/(accounts|audit-logs|customers)(/|$)", "accounts"),
    (r"^/api/v1/(transfers|currencies|fx|fx-rates|fees|holds|categories|category-rules|budgets|insights"
     r"|scheduled-transfers|bills|rewards)(/|$)", "transactions"),
    (r"^/api/v1/admin/(deposits|transfers|ledger-check|ledger|fx-rates|fees|journal-entries|reports"
     r"|fiscal-periods|risk-rules|reviews|data-quality)(/|$)", "transactions"),
    (r"^/api/v1/(preferences|notification-settings|notifications)(/|$)", "preferences"),
]


@dataclass(frozen=True)
class RouteTable:
    routes: tuple[tuple[re.Pattern, str], ...]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]] | list[list[str]]) -> "RouteTable":
        return cls(tuple((re.compile(pattern), service) for pattern, service in pairs))

    def service_for(self, path: str) -> str | None:
        for pattern, service in self.routes:
            if pattern.match(path):
                return service
        return None

    def services(self) -> set[str]:
        return {service for _, service in self.routes}


def parse_routes(raw: str) -> list[tuple[str, str]]:
    pairs = json.loads(raw)
    if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs):
        raise ValueError("expected a JSON list of [pattern, service] pairs")
    for pattern, _ in pairs:
        re.compile(pattern)
    return [(pattern, service) for pattern, service in pairs]
