"""Per-client rate limits on asks and on writes, shared by the API and the web UI.

Built on ``limits`` (the library slowapi uses) with in-memory storage: the counts live in this
process, which is the one process that serves everything.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Literal

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from index.errors import ArticlebotError

if TYPE_CHECKING:
    from ui.settings import Settings

Action = Literal["ask", "write"]
SETTING = {"ask": "ARTICLEBOT_SERVE__RATE_LIMIT_ASK", "write": "ARTICLEBOT_SERVE__RATE_LIMIT_WRITE"}
WHAT = {"ask": "questions", "write": "changes to the articles"}


def client_of(request: object) -> str:
    """The client a limit counts against: the address of a Starlette or Gradio request (its
    ``client.host``); "local" for a direct call without one (tests, notebooks)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "local")


class RateLimitError(ArticlebotError):
    """One client asked or wrote too often; ``retry_after`` is in whole seconds."""

    status = 429

    def __init__(self, message: str, hint: str = "", retry_after: int = 1) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


def parse_limit(value: str) -> RateLimitItem | None:
    """``"30/minute"`` -> a limit; ``""`` -> no limit. Raises ValueError on anything else."""
    value = value.strip()
    if not value:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a rate limit: write it as N/second, N/minute, N/hour or "
                         "N/day (or leave it empty for no limit).") from exc


class RateLimits:
    """Counts each client's asks and writes in a moving window."""

    def __init__(self, ask: str = "", write: str = "") -> None:
        self._limits = {"ask": parse_limit(ask), "write": parse_limit(write)}
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(settings.serve.rate_limit_ask, settings.serve.rate_limit_write)

    def hit(self, action: Action, client: str) -> None:
        """Count one ``action`` by ``client``; raise RateLimitError when it is over the limit."""
        limit = self._limits[action]
        if limit is None or self._limiter.hit(limit, action, client):
            return
        reset = self._limiter.get_window_stats(limit, action, client).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise RateLimitError(
            f"Too many {WHAT[action]} from this client (the limit is {limit}).",
            f"Try again in {wait} seconds; the server's admin sets the limit with {SETTING[action]}.",
            retry_after=wait)
