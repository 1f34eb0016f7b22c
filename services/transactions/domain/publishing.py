"""Publishing events without Flask: through the app the domain code runs under.

services.common.outbox.publish writes an event to an app's outbox in the caller's
transaction. The workflows are handed their app (`App`); the posting hooks (a budget crossed,
reward points earned) run under whatever posts, a request, the runner or a seed, and publish
only when an app is running them. Which app that is, is the web layer's to tell: app.py sets
`running_app` (Flask's current app, if any); until then there is none, as in a seed.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Callable, Protocol


class App(Protocol):
    """What the domain uses of the app: its extensions (the outbox) and its context."""

    extensions: dict[str, Any]

    def app_context(self) -> AbstractContextManager: ...


def _no_app() -> App | None:
    return None


running_app: Callable[[], App | None] = _no_app
