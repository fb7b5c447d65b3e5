"""Rate limits: moving windows kept in memory (one process) or in Redis (shared by every worker).

Built once per app (`app.state.rate_limiter`). Usage:

    await limiter.hit("login:ip", client_ip(request), limit="5/15minutes")   # raises RateLimited

`check` tests a limit without counting (e.g. refuse a login before checking the password, count only
failures), `clear` forgets a key (a successful login clears the account's failures). If Redis is down the
limiter fails open and logs it: an outage of the limiter must not take sign-in down with it.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from boxoffice.errors import RateLimited

log = logging.getLogger("boxoffice.ratelimit")


def client_ip(request: Request) -> str:
    """The caller's address as seen by the app (uvicorn resolves trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


class RateLimiter:
    """Named moving-window limits over a memory or Redis storage."""

    def __init__(self, redis_url: str = "", *, prefix: str = "boxoffice") -> None:
        self._redis_url = redis_url
        self._prefix = prefix
        self._namespace = "0"
        self._storage: Storage = self._new_storage()
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._items: dict[str, RateLimitItem] = {}

    @property
    def backend(self) -> str:
        """'redis' or 'memory'."""
        return "redis" if self._redis_url else "memory"

    def _new_storage(self) -> Storage:
        if self._redis_url:
            uri = self._redis_url
            if not uri.startswith("async+"):
                uri = "async+" + uri
            return RedisStorage(uri, wrap_exceptions=True, key_prefix=self._prefix)
        return MemoryStorage()

    def _item(self, limit: str) -> RateLimitItem:
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = parse(limit)
        return item

    def _keys(self, scope: str, key: str) -> tuple[str, str]:
        return (f"{self._namespace}:{scope}", key)

    async def _retry_after(self, item: RateLimitItem, keys: tuple[str, str]) -> int:
        try:
            stats = await self._strategy.get_window_stats(item, *keys)
            return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:
            return item.get_expiry()

    async def hit(self, scope: str, key: str, *, limit: str, cost: int = 1) -> None:
        """Count one attempt under `scope`/`key`; raise RateLimited when `limit` is exceeded."""
        item = self._item(limit)
        keys = self._keys(scope, key)
        try:
            allowed = await self._strategy.hit(item, *keys, cost=cost)
        except Exception as exc:
            log.warning("rate limiter unavailable, allowing %s: %r", scope, exc)
            return
        if not allowed:
            raise RateLimited(await self._retry_after(item, keys))

    async def check(self, scope: str, key: str, *, limit: str) -> None:
        """Raise RateLimited when `limit` is already used up for `scope`/`key`, without counting."""
        item = self._item(limit)
        keys = self._keys(scope, key)
        try:
            allowed = await self._strategy.test(item, *keys)
        except Exception as exc:
            log.warning("rate limiter unavailable, allowing %s: %r", scope, exc)
            return
        if not allowed:
            raise RateLimited(await self._retry_after(item, keys))

    async def allowed(self, scope: str, key: str, *, limit: str) -> bool:
        """Count one attempt and say whether it was within `limit` (never raises)."""
        try:
            return bool(await self._strategy.hit(self._item(limit), *self._keys(scope, key)))
        except Exception as exc:
            log.warning("rate limiter unavailable, allowing %s: %r", scope, exc)
            return True

    async def clear(self, scope: str, key: str, *, limit: str) -> None:
        """Forget the attempts counted for `scope`/`key`."""
        try:
            await self._strategy.clear(self._item(limit), *self._keys(scope, key))
        except Exception as exc:
            log.warning("rate limiter unavailable, cannot clear %s: %r", scope, exc)

    def reset(self, namespace: str | None = None) -> None:
        """Start from empty windows (tests): a fresh (or the given) namespace, and fresh memory storage."""
        self._namespace = namespace or secrets.token_hex(6)
        if not self._redis_url:
            self._storage = self._new_storage()
            self._strategy = MovingWindowRateLimiter(self._storage)

    def describe(self) -> dict[str, Any]:
        """What the limiter runs on (readiness, docs)."""
        return {"backend": self.backend}


def build_rate_limiter(redis_url: str) -> RateLimiter:
    """The app's limiter: shared through Redis when `redis_url` is set, in memory otherwise."""
    return RateLimiter(redis_url)
