"""The live seat event bus: publish a showtime's seat changes, subscribe to one showtime's stream.

Three backends behind one interface:
- in-process (the default, one worker): subscribers are asyncio queues in this process;
- PostgreSQL LISTEN/NOTIFY (chosen whenever the database is PostgreSQL): every worker and node on the same
  database hears every event, so a seat map served by worker A sees a claim made on worker B;
- Redis pub/sub (chosen when `redis_url` is set; it wins over PostgreSQL).
Publishing never fails the caller: events are a courtesy to seat maps, the database stays the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

log = logging.getLogger("boxoffice.events")

CHANNEL = "boxoffice_seats"
QUEUE_SIZE = 256


class EventBus(Protocol):
    """Publish and subscribe to seat events per showtime."""

    async def publish(self, showtime_id: int, payload: dict[str, Any]) -> None:
        """Send `payload` to every subscriber of `showtime_id` (in every process for shared backends)."""
        ...

    def subscribe(
        self, showtime_id: int
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving the showtime's events while the context is open."""
        ...

    async def close(self) -> None:
        """Release connections and tasks."""
        ...


class _Fanout:
    """Local subscribers: showtime id -> queues. Shared by all backends for the last hop."""

    def __init__(self) -> None:
        self._subs: dict[int, set[asyncio.Queue[dict[str, Any]]]] = {}

    def deliver(self, showtime_id: int, payload: dict[str, Any]) -> None:
        for queue in list(self._subs.get(showtime_id, ())):
            try:
                queue.put_nowait(payload)
            except asyncio.QueueFull:  # a stalled client: drop rather than block everyone
                log.warning("seat event dropped for a slow subscriber of showtime %s", showtime_id)

    def add(self, showtime_id: int) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subs.setdefault(showtime_id, set()).add(queue)
        return queue

    def remove(self, showtime_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        subs = self._subs.get(showtime_id)
        if subs is not None:
            subs.discard(queue)
            if not subs:
                del self._subs[showtime_id]

    @property
    def count(self) -> int:
        return sum(len(s) for s in self._subs.values())


def _encode(showtime_id: int, payload: dict[str, Any]) -> str:
    return orjson.dumps({"showtime_id": showtime_id, "payload": payload}).decode()


def _decode(raw: str | bytes) -> tuple[int, dict[str, Any]] | None:
    try:
        data = orjson.loads(raw)
        return int(data["showtime_id"]), dict(data["payload"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        log.warning("malformed seat event ignored")
        return None


class InProcessBus:
    """Events delivered within this process only (one worker)."""

    def __init__(self) -> None:
        self._fanout = _Fanout()

    async def publish(self, showtime_id: int, payload: dict[str, Any]) -> None:
        """Deliver to local subscribers."""
        self._fanout.deliver(showtime_id, payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, showtime_id: int) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue for the showtime's events."""
        queue = self._fanout.add(showtime_id)
        try:
            yield queue
        finally:
            self._fanout.remove(showtime_id, queue)

    async def close(self) -> None:
        """Nothing to release."""


class PostgresBus:
    """LISTEN/NOTIFY on one channel; one listening connection per process, opened on first subscribe."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._fanout = _Fanout()
        self._listener: Any = None
        self._publisher: Any = None
        self._lock = asyncio.Lock()
        self._publish_lock = asyncio.Lock()

    async def _connect(self) -> Any:
        import asyncpg  # type: ignore[import-untyped]

        return await asyncpg.connect(self._dsn, timeout=10)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, raw: str) -> None:
        decoded = _decode(raw)
        if decoded is not None:
            self._fanout.deliver(*decoded)

    async def _ensure_listener(self) -> None:
        async with self._lock:
            if self._listener is None or self._listener.is_closed():
                self._listener = await self._connect()
                await self._listener.add_listener(CHANNEL, self._on_notify)

    async def publish(self, showtime_id: int, payload: dict[str, Any]) -> None:
        """NOTIFY every process listening on the database (payloads stay far below the 8 kB limit)."""
        try:
            async with self._publish_lock:  # one connection runs one statement at a time
                if self._publisher is None or self._publisher.is_closed():
                    self._publisher = await self._connect()
                await self._publisher.execute(
                    "SELECT pg_notify($1, $2)", CHANNEL, _encode(showtime_id, payload)
                )
        except Exception:
            log.exception("seat event not published (PostgreSQL)")
            self._fanout.deliver(showtime_id, payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, showtime_id: int) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue for the showtime's events from every process."""
        await self._ensure_listener()
        queue = self._fanout.add(showtime_id)
        try:
            yield queue
        finally:
            self._fanout.remove(showtime_id, queue)

    async def close(self) -> None:
        """Close both connections."""
        for conn in (self._listener, self._publisher):
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close()
        self._listener = self._publisher = None


class RedisBus:
    """Redis pub/sub on one channel; a reader task per process, started on first subscribe."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._fanout = _Fanout()
        self._reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message and message.get("type") == "message":
                    decoded = _decode(message["data"])
                    if decoded is not None:
                        self._fanout.deliver(*decoded)
        finally:
            await pubsub.aclose()  # type: ignore[attr-defined]  # redis>=5; the stubs lag

    async def publish(self, showtime_id: int, payload: dict[str, Any]) -> None:
        """PUBLISH to every process subscribed through Redis."""
        try:
            await self._redis.publish(CHANNEL, _encode(showtime_id, payload))
        except Exception:
            log.exception("seat event not published (Redis)")
            self._fanout.deliver(showtime_id, payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, showtime_id: int) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue for the showtime's events from every process."""
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="boxoffice-redis-events")
            await asyncio.sleep(0.05)  # let the SUBSCRIBE go out before the caller relies on it
        queue = self._fanout.add(showtime_id)
        try:
            yield queue
        finally:
            self._fanout.remove(showtime_id, queue)

    async def close(self) -> None:
        """Stop the reader and close the client."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        await self._redis.aclose()  # type: ignore[attr-defined]


def create_event_bus(*, database_url: str, redis_url: str = "") -> EventBus:
    """Redis when configured, else PostgreSQL LISTEN/NOTIFY on PostgreSQL, else in-process."""
    if redis_url:
        return RedisBus(redis_url)
    if database_url.startswith("postgresql"):
        return PostgresBus(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return InProcessBus()


def seats_event(showtime_id: int, changes: list[tuple[int, str]]) -> dict[str, Any]:
    """The event for a change of seats: `{type: "seats", showtime_id, seats: [{seat_id, status}]}`."""
    return {
        "type": "seats",
        "showtime_id": showtime_id,
        "seats": [{"seat_id": seat_id, "status": status} for seat_id, status in changes],
    }
