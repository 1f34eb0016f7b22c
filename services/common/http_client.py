"""The HTTP client services use to call each other.

One pooled session per target; connect and read timeouts on every call; retries with
backoff only for idempotent methods (a retried POST could move money twice); the request
id and an internal token for the target go on every call. A token is minted once per
(subject, roles) and reused until a third of its lifetime is left, so a busy gateway signs
a few tokens a minute per customer instead of one per request; the receiver still checks
each one's signature, audience, caller and expiry. The session ignores the environment's
proxy settings: calls between services never go through a proxy, and requests would
otherwise read them on every call (a tenth of the gateway's CPU under load).

`secret` is the caller's INTERNAL_TOKEN_SECRET: its own `ed25519:` key (tokens are then
signed as `caller`, see service_auth.py) or, in development, the shared secret. Tokens live
INTERNAL_TOKEN_TTL_SECONDS (given, else the running app's setting, else the environment's).
"""
from __future__ import annotations

import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .request_id import HEADER as REQUEST_ID_HEADER, current_request_id
from .service_auth import mint_internal_token, token_ttl_seconds

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Tokens kept per client (one per active customer at the gateway): bounded memory.
MAX_CACHED_TOKENS = 10_000


class ServiceClient:
    def __init__(self, base_url: str, audience: str, caller: str, secret: str,
                 connect_timeout: float = 1.0, read_timeout: float = 5.0,
                 retries: int = 2, backoff: float = 0.1, pool_size: int = 20,
                 ttl_seconds: int | None = None):
        self.base_url = base_url.rstrip("/")
        self.audience = audience
        self.caller = caller
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self.timeout = (connect_timeout, read_timeout)
        retry = Retry(
            total=retries, connect=retries, read=retries, status=retries,
            backoff_factor=backoff, status_forcelist=(502, 503, 504),
            allowed_methods=IDEMPOTENT_METHODS, raise_on_status=False,
            respect_retry_after_header=True,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
        self.session = requests.Session()
        self.session.trust_env = False
        self._tokens: dict[tuple[str | None, tuple[str, ...], int], tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def headers_for(self, subject: str | None = None, roles: tuple[str, ...] = ()) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token_for(subject, tuple(roles))}"}
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    def token_for(self, subject: str | None, roles: tuple[str, ...]) -> str:
        """A token for (subject, roles) with at least a third of its lifetime left."""
        now = time.monotonic()
        ttl = self.ttl_seconds or token_ttl_seconds()
        with self._tokens_lock:
            cached = self._tokens.get((subject, roles, ttl))
            if cached is not None and cached[1] > now:
                return cached[0]
        token = mint_internal_token(self._secret, self.audience, self.caller, subject, roles, ttl)
        with self._tokens_lock:
            if len(self._tokens) >= MAX_CACHED_TOKENS:
                self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
                if len(self._tokens) >= MAX_CACHED_TOKENS:
                    self._tokens.clear()
            self._tokens[(subject, roles, ttl)] = (token, now + ttl * 2 / 3)
        return token

    def request(self, method: str, path: str, *, subject: str | None = None,
                roles: tuple[str, ...] = (), headers: dict[str, str] | None = None,
                timeout: tuple[float, float] | None = None, **kwargs: Any) -> requests.Response:
        merged = self.headers_for(subject, roles)
        merged.update(headers or {})
        return self.session.request(method, self.base_url + path, headers=merged,
                                    timeout=timeout or self.timeout, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.session.close()
