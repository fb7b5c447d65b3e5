"""A per-process cache of the anonymous seat map, dropped by seat events and bounded by a short TTL.

Why: during a sale every buyer's page asks for the seat map again and again; building it (300 rows
read, statuses worked out, JSON written) costs milliseconds of CPU against a tenth of that for a trivial
route. The cache keeps the finished bytes and their ETag per showtime.

Why it is safe: the database stays the truth. Seats are claimed with conditional updates, so a stale map
can only make a buyer try a seat that is gone (409 `seats_unavailable`), never sell it twice. Staleness
is bounded twice over: every seat change publishes a seat event after its commit, which the event bus
delivers to every process (in-process, PostgreSQL LISTEN/NOTIFY or Redis) and which drops the entry at
once; an entry ends when its first live hold expires (a seat turns available without any write); and
an entry lives at most `ttl` seconds, which covers a lost event or a seat changed by a path that
publishes none. A build that raced with an event is not stored (generation counter), and concurrent
misses for one showtime share one build instead of stampeding the database.

Signed-in callers are served from here too when they hold and own no seat of the showtime (their map
would be this one); the others get a personal map that marks their seats `mine` (api.py, seatmap.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from boxoffice.kit.clock import utc_now
from boxoffice.kit.events import EventBus

log = logging.getLogger("boxoffice.seatmap_cache")

Built = tuple[str, bytes, datetime | None]  # (ETag, JSON body, when its first live hold expires)
Served = tuple[str, bytes]  # (ETag, JSON body)


class SeatMapCache:
    """Seat-map bytes per showtime, invalidated by that showtime's seat events."""

    def __init__(self, events: EventBus | None, *, ttl: float = 1.0, max_entries: int = 256) -> None:
        self._events = events
        self._ttl = ttl
        self._max = max_entries
        self._entries: OrderedDict[int, tuple[float, datetime | None, str, bytes]] = OrderedDict()
        self._generation: dict[int, int] = {}
        self._inflight: dict[int, asyncio.Future[Served]] = {}
        self._watchers: dict[int, asyncio.Task[None]] = {}

    def invalidate(self, showtime_id: int) -> None:
        """Forget the showtime's map (a seat changed)."""
        self._entries.pop(showtime_id, None)
        self._generation[showtime_id] = self._generation.get(showtime_id, 0) + 1

    def peek(self, showtime_id: int) -> Served | None:
        """The cached (ETag, body) of the showtime while it is fresh, else None (nothing is built)."""
        entry = self._entries.get(showtime_id)
        if (
            entry is not None
            and entry[0] > time.monotonic()
            and (entry[1] is None or entry[1] > utc_now())  # a hold expires: the map changes unwritten
        ):
            return entry[2], entry[3]
        return None

    async def get(self, showtime_id: int, build: Callable[[], Awaitable[Built]]) -> Served:
        """The cached (ETag, body) of the showtime, built with `build` when missing or stale."""
        if self._ttl <= 0:  # the cache is turned off
            etag, body, _ = await build()
            return etag, body
        cached = self.peek(showtime_id)
        if cached is not None:
            return cached
        pending = self._inflight.get(showtime_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Served] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._inflight[showtime_id] = future
        try:
            await self._watch(showtime_id)
            generation = self._generation.get(showtime_id, 0)
            started = time.monotonic()
            etag, body, fresh_until = await build()
            if self._generation.get(showtime_id, 0) == generation:
                self._store(showtime_id, started + self._ttl, fresh_until, etag, body)
            future.set_result((etag, body))
            return etag, body
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            self._inflight.pop(showtime_id, None)

    def _store(
        self, showtime_id: int, until: float, fresh_until: datetime | None, etag: str, body: bytes
    ) -> None:
        self._entries[showtime_id] = (until, fresh_until, etag, body)
        self._entries.move_to_end(showtime_id)
        while len(self._entries) > self._max:
            old, _ = self._entries.popitem(last=False)
            watcher = self._watchers.pop(old, None)
            if watcher is not None:
                watcher.cancel()

    async def _watch(self, showtime_id: int) -> None:
        """Subscribe to the showtime's seat events (once) before its map is read."""
        if self._events is None:
            return
        watcher = self._watchers.get(showtime_id)
        if watcher is not None and not watcher.done():
            return
        ready = asyncio.Event()
        self._watchers[showtime_id] = asyncio.create_task(
            self._listen(showtime_id, ready), name=f"seatmap-cache-{showtime_id}"
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 1.0)  # past that, the TTL alone bounds staleness

    async def _listen(self, showtime_id: int, ready: asyncio.Event) -> None:
        assert self._events is not None
        try:
            async with self._events.subscribe(showtime_id) as queue:
                ready.set()
                while True:
                    await queue.get()
                    self.invalidate(showtime_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("seat map cache lost its event subscription for showtime %s", showtime_id)
            self.invalidate(showtime_id)
        finally:
            ready.set()

    def clear(self) -> None:
        """Forget every entry (tests reset the database under the app's feet)."""
        for showtime_id in list(self._entries):
            self.invalidate(showtime_id)

    async def close(self) -> None:
        """Stop every subscription."""
        watchers = list(self._watchers.values())
        self._watchers.clear()
        self._entries.clear()
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a failed shared build's exception as seen when no other request waited for it."""
    if not future.cancelled():
        future.exception()


class InvalidatingBus:
    """The app's event bus, wrapped so that a publish from this process drops the local entry at once.

    Other processes learn of the change when the bus delivers the event; this process must not wait for
    its own event to come back (the next request of the same client could be faster than NOTIFY).
    """

    def __init__(self, inner: EventBus, cache: SeatMapCache) -> None:
        self.inner = inner
        self._cache = cache

    async def publish(self, showtime_id: int, payload: dict[str, Any]) -> None:
        """Invalidate locally, then publish through the real bus."""
        self._cache.invalidate(showtime_id)
        await self.inner.publish(showtime_id, payload)

    def subscribe(
        self, showtime_id: int
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[dict[str, Any]]]:
        """Subscribe through the real bus."""
        return self.inner.subscribe(showtime_id)

    async def close(self) -> None:
        """Stop the cache's subscriptions, then close the real bus."""
        await self._cache.close()
        await self.inner.close()


def seat_map_cache(app: FastAPI) -> SeatMapCache:
    """The app's cache, made on first use on the app's event bus (which it then wraps)."""
    cache: SeatMapCache | None = getattr(app.state, "seat_map_cache", None)
    if cache is None:
        events: EventBus | None = getattr(app.state, "events", None)
        settings = getattr(app.state, "settings", None)
        cache = SeatMapCache(events, ttl=float(getattr(settings, "seat_map_cache_seconds", 1.0)))
        app.state.seat_map_cache = cache
        if events is not None:
            app.state.events = InvalidatingBus(events, cache)
        hooks = getattr(app.state, "test_reset_hooks", None)
        if isinstance(hooks, list):
            hooks.append(cache.clear)
    return cache
