"""Live seat events: published after commit, streamed as SSE, shared across processes via PostgreSQL/Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from boxoffice.kit.events import InProcessBus, PostgresBus, RedisBus, create_event_bus, seats_event
from tests.conftest import PG_ADMIN_DB, PG_HOST, PG_PORT, PG_USER, require_pg
from tests.factories.booking import book_and_pay, hold, make_customer
from tests.factories.showtimes import make_showtime


async def next_event(queue: asyncio.Queue[dict[str, Any]]) -> dict[str, Any]:
    """The next event, or fail after 5 seconds."""
    return await asyncio.wait_for(queue.get(), timeout=5)


async def test_hold_pay_and_cancel_publish_seat_events(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice, bob = await make_customer(app), await make_customer(app)
    async with app.state.events.subscribe(st.showtime_id) as queue:
        await asyncio.sleep(0.1)
        held = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
        first = await next_event(queue)
        assert first == seats_event(st.showtime_id, [(st.seat_ids[0], "held"), (st.seat_ids[1], "held")])
        await client.post(
            f"/api/v1/bookings/{held['reference']}/pay",
            json={"card_number": "4242424242424242"},
            headers=alice.headers,
        )
        sold = await next_event(queue)
        assert {s["status"] for s in sold["seats"]} == {"sold"}
        await client.post(f"/api/v1/bookings/{held['reference']}/cancel", headers=alice.headers)
        freed = await next_event(queue)
        assert {s["status"] for s in freed["seats"]} == {"available"}
        await hold(client, bob, st.showtime_id, [*st.seat_ids[:1], 999999], expect=422)
        await hold(client, bob, st.showtime_id, st.seat_ids[2:3])
        after_failure = await next_event(queue)  # the refused request published nothing
        assert after_failure["seats"] == [{"seat_id": st.seat_ids[2], "status": "held"}]


async def test_sse_stream_delivers_events_and_ends_on_disconnect(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    leave = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await sent.put(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/api/v1/showtimes/{st.showtime_id}/events",
        "raw_path": f"/api/v1/showtimes/{st.showtime_id}/events".encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"accept", b"text/event-stream")],
        "client": ("203.0.113.9", 1234),
        "server": ("testserver", 80),
        "root_path": "",
        "state": {},
    }
    monkeypatch.setattr(app.state, "sse_heartbeat_seconds", 0.3, raising=False)
    task = asyncio.create_task(app(scope, receive, send))
    start = await asyncio.wait_for(sent.get(), timeout=5)
    assert start["status"] == 200
    assert dict(start["headers"])[b"content-type"].startswith(b"text/event-stream")
    hello = await asyncio.wait_for(sent.get(), timeout=5)
    assert b": connected" in hello["body"]
    beat = await asyncio.wait_for(sent.get(), timeout=5)
    assert beat["body"] == b": heartbeat\n\n"
    await asyncio.sleep(0.1)
    await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:1])
    chunks = b""
    while b'"sold"' not in chunks:
        chunks += (await asyncio.wait_for(sent.get(), timeout=5)).get("body", b"")
    assert b"event: seats" in chunks
    assert f'"seat_id":{st.seat_ids[0]}'.encode() in chunks
    leave.set()
    await asyncio.wait_for(task, timeout=5)


async def test_events_of_unknown_showtime_are_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/showtimes/987654/events")
    assert response.status_code == 404


async def _across(one: Any, two: Any) -> None:
    """Two bus instances stand for two worker processes: one publishes, the other's subscriber hears it."""
    try:
        async with two.subscribe(4242) as queue, two.subscribe(4243) as other:
            await asyncio.sleep(0.2)
            await one.publish(4242, seats_event(4242, [(1, "held")]))
            got = await next_event(queue)
            assert got == {"type": "seats", "showtime_id": 4242, "seats": [{"seat_id": 1, "status": "held"}]}
            assert other.empty()
    finally:
        await one.close()
        if two is not one:
            await two.close()


async def test_in_process_bus() -> None:
    bus = InProcessBus()
    await _across(bus, bus)


async def test_postgres_bus_crosses_processes() -> None:
    await require_pg()
    dsn = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_ADMIN_DB}"
    one, two = create_event_bus(database_url=dsn), create_event_bus(database_url=dsn)
    assert isinstance(one, PostgresBus)
    await _across(one, two)


async def test_postgres_bus_survives_concurrent_publishes() -> None:
    await require_pg()
    dsn = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_ADMIN_DB}"
    one, two = create_event_bus(database_url=dsn), create_event_bus(database_url=dsn)
    try:
        async with two.subscribe(777) as queue:
            await asyncio.sleep(0.2)
            await asyncio.gather(*(one.publish(777, seats_event(777, [(i, "held")])) for i in range(50)))
            got = {(await next_event(queue))["seats"][0]["seat_id"] for _ in range(50)}
            assert got == set(range(50))
    finally:
        await one.close()
        await two.close()


async def test_redis_bus_crosses_processes() -> None:
    one = create_event_bus(database_url="sqlite+aiosqlite:///x.db", redis_url="redis://127.0.0.1:6379/0")
    assert isinstance(one, RedisBus)
    await _across(one, RedisBus("redis://127.0.0.1:6379/0"))
