"""A micro-cache of the public showtime listing: the same answer for everyone, kept for at most a second.

Why: the listing is public and identical for every caller, and building it takes four queries and a
Pydantic serialisation (milliseconds) against a tenth of a millisecond for a cached copy. During a sale
it is asked for far more often than it changes.

Why it stays correct:
- any write committed by this process (an ORM flush or an INSERT/UPDATE/DELETE statement in a Session)
  drops every entry at once, so a caller never misses its own change (a new showtime, a hold that
  lowers `seats_available`);
- the key holds the current second of boxoffice's clock (`kit.clock`), so an entry never outlives the
  second it was built in: writes made by other processes show within a second, upcoming showtimes drop
  off on time, and tests that move a frozen clock see the move;
- concurrent misses for one key share one build.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from boxoffice.kit.clock import utc_now

_WROTE = "boxoffice_wrote"


class _Writes:
    """How many write transactions this process has committed (a process-wide generation)."""

    generation = 0


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_flush")
def _on_flush(session: Session, _ctx: UOWTransaction) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        _Writes.generation += 1


@event.listens_for(Session, "after_rollback")
def _on_rollback(session: Session) -> None:
    session.info.pop(_WROTE, None)


class ListingCache:
    """Serialised listing pages by query, valid within one clock second and until this process writes."""

    def __init__(self, *, enabled: bool = True, max_entries: int = 512) -> None:
        self._enabled = enabled
        self._max = max_entries
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[bytes]] = {}

    def peek(self, query: Hashable) -> bytes | None:
        """The cached page for `query` while it is valid, else None (nothing is built)."""
        entry = self._entries.get((query, int(utc_now().timestamp())))
        return entry[1] if entry is not None and entry[0] == _Writes.generation else None

    async def get(self, query: Hashable, build: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached page for `query`, built with `build` when missing or stale."""
        if not self._enabled:
            return await build()
        cached = self.peek(query)
        if cached is not None:
            return cached
        key = (query, int(utc_now().timestamp()))
        generation = _Writes.generation
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._inflight[key] = future
        try:
            body = await build()
            if _Writes.generation == generation:
                self._entries[key] = (generation, body)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            future.set_result(body)
            return body
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            self._inflight.pop(key, None)

    def clear(self) -> None:
        """Forget every entry (tests reset the database under the app's feet)."""
        self._entries.clear()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def listing_cache(app: FastAPI) -> ListingCache:
    """The app's listing cache, made on first use (off when BOXOFFICE_SEAT_MAP_CACHE_SECONDS is 0)."""
    cache: ListingCache | None = getattr(app.state, "listing_cache", None)
    if cache is None:
        settings = getattr(app.state, "settings", None)
        cache = ListingCache(enabled=float(getattr(settings, "seat_map_cache_seconds", 1.0)) > 0)
        app.state.listing_cache = cache
        hooks = getattr(app.state, "test_reset_hooks", None)
        if isinstance(hooks, list):
            hooks.append(cache.clear)
    return cache
