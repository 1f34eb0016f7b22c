"""The services behind the gateway: a pooled client and a circuit breaker for each.

Every call to a service goes through `Upstream.request`, so a service that is down, hangs
past its timeout or is shedding load (502/503/504) counts against its breaker, and an
open breaker answers 503 without waiting. Retries of idempotent methods are the
ServiceClient's (urllib3 Retry); one logical call is one breaker outcome.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import ReadTimeoutError

from services.common.errors import Problem
from services.common.http_client import ServiceClient

from .breaker import CircuitBreaker, CircuitOpen
from .settings import UPSTREAMS

log = logging.getLogger(__name__)
# An upstream's own 500 is a bug in one handler, not an outage; these mean "not serving",
# unless the service itself said so in a problem document (its 503 when a store or another
# service it needs is down): that answer is passed on and does not count against it.
OUTAGE_STATUSES = frozenset({502, 503, 504})


class UpstreamUnavailable(Problem):
    def __init__(self, service: str, detail: str, retry_after: float = 1.0):
        super().__init__(503, "service_unavailable", detail,
                         headers={"Retry-After": str(max(1, math.ceil(retry_after)))}, service=service)


@dataclass
class Upstream:
    name: str
    client: ServiceClient
    breaker: CircuitBreaker

    def request(self, method: str, path: str, *, cut_short: bool = False, **kwargs: Any) -> requests.Response:
        """The service's answer, or UpstreamUnavailable (a 503 problem) when it cannot give one.

        cut_short: the caller's timeout is shorter than the upstream's own (a deadline), so a
        read timeout is the caller's impatience, not the service's failure.
        """
        try:
            self.breaker.before_call()
        except CircuitOpen as exc:
            raise UpstreamUnavailable(self.name, f"The {self.name} service is unavailable (circuit open).",
                                      exc.retry_after) from None
        try:
            response = self.client.request(method, path, **kwargs)
        except requests.RequestException as exc:
            if cut_short and _read_timed_out(exc):
                self.breaker.record_nothing()
                raise UpstreamUnavailable(self.name, f"The {self.name} service did not answer in time.") from None
            self.breaker.record_failure()
            log.warning("upstream unavailable", extra={"upstream": self.name, "error": str(exc)})
            raise UpstreamUnavailable(self.name, f"The {self.name} service is unavailable.") from None
        except BaseException:
            self.breaker.record_nothing()  # not the upstream's doing; never leave a probe hanging
            raise
        if response.status_code in OUTAGE_STATUSES and not _own_problem(response):
            self.breaker.record_failure()
            log.warning("upstream not serving", extra={"upstream": self.name, "status": response.status_code})
            raise UpstreamUnavailable(self.name, f"The {self.name} service is unavailable.",
                                      _retry_after(response))
        self.breaker.record_success()
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


def _read_timed_out(exc: requests.RequestException) -> bool:
    # After urllib3's retries are spent, a read timeout arrives wrapped in MaxRetryError.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError)


def _own_problem(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").startswith("application/problem+json")


def _retry_after(response: requests.Response) -> float:
    try:
        return float(response.headers.get("Retry-After", 1))
    except ValueError:
        return 1.0


def build_upstreams(config) -> dict[str, Upstream]:
    """One Upstream per service, with its own timeouts and breaker from the settings."""
    upstreams = {}
    for name in UPSTREAMS:
        prefix = name.upper()
        client = ServiceClient(
            config[f"{prefix}_URL"], audience=name, caller="gateway", secret=config["INTERNAL_TOKEN_SECRET"],
            ttl_seconds=config["INTERNAL_TOKEN_TTL_SECONDS"],
            connect_timeout=config.get(f"{prefix}_CONNECT_TIMEOUT") or config["UPSTREAM_CONNECT_TIMEOUT"],
            read_timeout=config.get(f"{prefix}_READ_TIMEOUT") or config["UPSTREAM_READ_TIMEOUT"])
        breaker = CircuitBreaker(config["BREAKER_FAILURE_THRESHOLD"], config["BREAKER_RESET_SECONDS"])
        upstreams[name] = Upstream(name, client, breaker)
    return upstreams
