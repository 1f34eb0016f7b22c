"""The accounts service as the ledger reads it: its account list, page by page, over its
internal endpoint (the services/common HTTP client: timeouts, retries on GET, the request
id, an internal token for `accounts`). Used by the data-quality report only."""
from __future__ import annotations

from typing import Iterator

from services.common.http_client import ServiceClient

PAGE = 1000


def accounts_client(url: str | None, secret: str) -> ServiceClient | None:
    if not url:
        return None
    return ServiceClient(url, audience="accounts", caller="transactions", secret=secret, read_timeout=10.0)


def account_pages(client: ServiceClient) -> Iterator[list[dict]]:
    after = None
    while True:
        response = client.get("/internal/accounts", params={"limit": PAGE, **({"after": after} if after else {})})
        if response.status_code != 200:
            raise RuntimeError(f"GET /internal/accounts answered {response.status_code}")
        page = response.json()
        yield page["items"]
        after = page["next_after"]
        if after is None:
            return
