"""Holds: atomic claims, all or nothing, limits, bad input, expiry with an injected clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select, update

from boxoffice.accounts.models import Role
from boxoffice.booking.sweeper import sweep_once
from boxoffice.db import transaction
from boxoffice.showtimes.models import SeatStatus, ShowtimeSeat
from tests.conftest import FrozenClock
from tests.factories.booking import hold, make_customer, pay
from tests.factories.showtimes import make_showtime


async def seat_statuses(app: FastAPI, showtime_id: int) -> dict[int, str]:
    """seat_id -> stored status."""
    async with transaction(app.state.sessionmaker, write=False) as session:
        rows = await session.execute(
            select(ShowtimeSeat.seat_id, ShowtimeSeat.status).where(ShowtimeSeat.showtime_id == showtime_id)
        )
        return {r[0]: r[1].value for r in rows}


async def test_hold_answers_held_booking_with_price_and_expiry(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=2, seats_per_row=5)
    alice = await make_customer(app)
    body = await hold(client, alice, st.showtime_id, st.seat_ids[:3])
    assert body["status"] == "held"
    assert len(body["reference"]) == 10
    assert body["total"] == {"amount": 3600, "currency": "EUR"}
    assert [s["price"]["amount"] for s in body["seats"]] == [1200, 1200, 1200]
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires - frozen_clock.now == timedelta(minutes=10)
    assert body["showtime"]["id"] == st.showtime_id
    statuses = await seat_statuses(app, st.showtime_id)
    assert [statuses[s] for s in st.seat_ids[:4]] == ["held", "held", "held", "available"]


async def test_taken_seat_gives_409_naming_it_and_claims_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=2, seats_per_row=5)
    alice, bob = await make_customer(app), await make_customer(app)
    await hold(client, alice, st.showtime_id, [st.seat_ids[2]])
    response = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[:4]},
        headers=bob.headers,
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "seats_unavailable"
    assert problem["seats"] == [st.seat_ids[2]]
    assert response.headers["content-type"].startswith("application/problem+json")
    statuses = await seat_statuses(app, st.showtime_id)
    assert [statuses[s] for s in st.seat_ids[:4]] == ["available", "available", "held", "available"]


async def test_best_available_by_count(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=3, seats_per_row=6)
    alice = await make_customer(app)
    response = await client.post(
        "/api/v1/bookings", json={"showtime_id": st.showtime_id, "count": 2}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    seats = response.json()["seats"]
    assert len(seats) == 2
    assert seats[0]["row"] == seats[1]["row"]
    assert abs(seats[0]["number"] - seats[1]["number"]) == 1


async def test_unverified_customer_cannot_book(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    carl = await make_customer(app, verified=False)
    response = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[:1]},
        headers=carl.headers,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "email_unverified"


@pytest.mark.parametrize("role", [Role.owner, Role.admin])
async def test_staff_accounts_do_not_hold_seats(app: FastAPI, client: httpx.AsyncClient, role: Role) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    staff = await make_customer(app, role=role)
    response = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[:1]},
        headers=staff.headers,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "customers_only"
    seats = (await client.get(f"/api/v1/showtimes/{st.showtime_id}/seats")).json()
    assert seats["counts"]["available"] == 4
    anonymous = await client.post("/api/v1/bookings", json={"showtime_id": st.showtime_id, "seat_ids": [1]})
    assert anonymous.status_code == 401


async def test_bad_input_is_a_clear_4xx(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=2, seats_per_row=8)
    other = await make_showtime(app, rows=1, seats_per_row=2)
    alice = await make_customer(app)

    async def post(body: object) -> httpx.Response:
        return await client.post("/api/v1/bookings", json=body, headers=alice.headers)

    dup = await post({"showtime_id": st.showtime_id, "seat_ids": [st.seat_ids[0], st.seat_ids[0]]})
    assert dup.status_code == 422
    unknown = await post({"showtime_id": st.showtime_id, "seat_ids": [st.seat_ids[0], 999999]})
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["seats"]) == (
        422,
        "unknown_seats",
        [999999],
    )
    foreign = await post({"showtime_id": st.showtime_id, "seat_ids": [other.seat_ids[0]]})
    assert (foreign.status_code, foreign.json()["code"]) == (422, "unknown_seats")
    empty = await post({"showtime_id": st.showtime_id, "seat_ids": []})
    assert empty.status_code == 422
    zero = await post({"showtime_id": st.showtime_id, "count": 0})
    assert zero.status_code == 422
    both = await post({"showtime_id": st.showtime_id, "count": 1, "seat_ids": [st.seat_ids[0]]})
    assert both.status_code == 422
    too_many = await post({"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[:11]})
    assert (too_many.status_code, too_many.json()["code"]) == (422, "too_many_seats")
    missing = await post({"showtime_id": 987654, "seat_ids": [1]})
    assert (missing.status_code, missing.json()["code"]) == (404, "showtime_not_found")
    extra = await post({"showtime_id": st.showtime_id, "seat_ids": [st.seat_ids[0]], "price": 1})
    assert extra.status_code == 422
    garbage = await client.post(
        "/api/v1/bookings",
        content=b"{not json",
        headers={**alice.headers, "content-type": "application/json"},
    )
    assert garbage.status_code == 422
    huge = await post({"showtime_id": 2**40, "seat_ids": [1]})
    assert huge.status_code == 422
    huge_seat = await post({"showtime_id": st.showtime_id, "seat_ids": [2**40]})
    assert huge_seat.status_code == 422
    for path in (f"/api/v1/showtimes/{2**40}/events", f"/api/v1/bookings?showtime_id={2**40}"):
        assert (await client.get(path, headers=alice.headers)).status_code == 422
    statuses = await seat_statuses(app, st.showtime_id)
    assert set(statuses.values()) == {"available"}


async def test_held_bookings_per_customer_are_limited(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=8)
    alice = await make_customer(app)
    for i in range(3):
        await hold(client, alice, st.showtime_id, [st.seat_ids[i]])
    fourth = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": st.showtime_id, "seat_ids": [st.seat_ids[5]]},
        headers=alice.headers,
    )
    assert (fourth.status_code, fourth.json()["code"]) == (409, "too_many_holds")


async def test_cancelled_or_closed_showtime_refuses_sales(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_customer(app, role=Role.owner)
    st = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner.user.id)
    soon = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(minutes=-5))
    alice = await make_customer(app)
    closed = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": soon.showtime_id, "seat_ids": soon.seat_ids[:1]},
        headers=alice.headers,
    )
    assert (closed.status_code, closed.json()["code"]) == (409, "sales_closed")
    cancel = await client.post(f"/api/v1/showtimes/{st.showtime_id}/cancel", headers=owner.headers)
    assert cancel.status_code == 200, cancel.text
    refused = await client.post(
        "/api/v1/bookings",
        json={"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[:1]},
        headers=alice.headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "sales_closed")


async def test_expired_hold_is_free_at_once_and_swept(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice, bob = await make_customer(app), await make_customer(app)
    first = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    frozen_clock.advance(minutes=9, seconds=59)
    await hold(client, bob, st.showtime_id, st.seat_ids[1:3], expect=409)
    frozen_clock.advance(seconds=2)
    second = await hold(client, bob, st.showtime_id, st.seat_ids[1:3])
    assert second["status"] == "held"
    # Alice's booking still says held until the sweeper runs; paying it now cannot get seat 2 back.
    late = await pay(client, alice, first["reference"], expect=409)
    assert late["code"] == "hold_expired"
    freed, expired = await sweep_once(app.state.sessionmaker, app.state.events)
    assert (freed, expired) == (1, 1)
    statuses = await seat_statuses(app, st.showtime_id)
    assert [statuses[s] for s in st.seat_ids] == ["available", "held", "held", "available"]
    mine = await client.get(f"/api/v1/bookings/{first['reference']}", headers=alice.headers)
    assert mine.json()["status"] == "expired"


async def test_readding_seats_cannot_stretch_the_hold(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=6)
    alice = await make_customer(app)
    first = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    frozen_clock.advance(minutes=8)
    changed = await client.patch(
        f"/api/v1/bookings/{first['reference']}", json={"seat_ids": st.seat_ids[:3]}, headers=alice.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["expires_at"] == first["expires_at"]
    async with transaction(app.state.sessionmaker, write=False) as session:
        ends = await session.scalars(
            select(ShowtimeSeat.hold_expires_at).where(ShowtimeSeat.seat_id.in_(st.seat_ids[:3]))
        )
        assert {e.isoformat() for e in ends if e is not None} == {
            datetime.fromisoformat(first["expires_at"]).isoformat()
        }


async def test_blocked_seat_is_unavailable(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=3)
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ShowtimeSeat)
            .where(ShowtimeSeat.seat_id == st.seat_ids[0])
            .values(status=SeatStatus.blocked)
        )
    alice = await make_customer(app)
    body = await hold(client, alice, st.showtime_id, st.seat_ids[:2], expect=409)
    assert body["seats"] == [st.seat_ids[0]]
    async with transaction(app.state.sessionmaker, write=False) as session:
        held = await session.scalar(
            select(func.count()).select_from(ShowtimeSeat).where(ShowtimeSeat.status == SeatStatus.held)
        )
        assert held == 0


async def test_a_buyer_who_lost_the_race_locks_and_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Seats already taken are refused from a plain read: no row lock to queue on, no booking inserted."""
    st = await make_showtime(app, rows=1, seats_per_row=5)
    alice, bob = await make_customer(app), await make_customer(app)
    await hold(client, alice, st.showtime_id, [st.seat_ids[2]])
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    sync_engine = app.state.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        response = await client.post(
            "/api/v1/bookings",
            json={"showtime_id": st.showtime_id, "seat_ids": st.seat_ids[:4]},
            headers=bob.headers,
        )
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    assert response.status_code == 409, response.text
    assert response.json()["seats"] == [st.seat_ids[2]]
    assert statements, "the hold read nothing?"
    writes = [s for s in statements if s.split()[0] in {"INSERT", "UPDATE", "DELETE"} or "FOR UPDATE" in s]
    assert writes == []


async def test_count_hold_that_loses_a_race_takes_the_next_best_block(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from boxoffice.booking import service
    from boxoffice.showtimes.best import BestSeat

    st = await make_showtime(app, rows=2, seats_per_row=4)
    alice, bob = await make_customer(app), await make_customer(app)
    await hold(client, bob, st.showtime_id, st.seat_ids[:2])
    real = service.find_best_seats
    calls: list[int] = []

    async def stale_then_real(session: Any, *, showtime_id: int, count: int) -> list[BestSeat]:
        calls.append(count)
        if len(calls) == 1:  # what a racer saw a moment before bob's claim committed
            return [BestSeat(s, "A", i + 1, i, 0, "standard", True) for i, s in enumerate(st.seat_ids[:2])]
        return await real(session, showtime_id=showtime_id, count=count)

    monkeypatch.setattr(service, "find_best_seats", stale_then_real)
    response = await client.post(
        "/api/v1/bookings", json={"showtime_id": st.showtime_id, "count": 2}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    assert len(calls) == 2
    got = [s["seat_id"] for s in response.json()["seats"]]
    assert not set(got) & set(st.seat_ids[:2])
    statuses = await seat_statuses(app, st.showtime_id)
    assert sum(1 for v in statuses.values() if v == "held") == 4


async def test_sweep_command_frees_expired_holds(
    app: FastAPI, client: httpx.AsyncClient, db_url: str
) -> None:
    import os
    import subprocess
    import sys

    from boxoffice.booking.models import Booking

    st = await make_showtime(app, rows=1, seats_per_row=3)
    alice = await make_customer(app)
    await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    past = datetime.now(UTC) - timedelta(minutes=1)
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ShowtimeSeat).where(ShowtimeSeat.status == SeatStatus.held).values(hold_expires_at=past)
        )
        await session.execute(update(Booking).values(expires_at=past))
    env = {
        **os.environ,
        "BOXOFFICE_DATABASE_URL": db_url,
        "BOXOFFICE_SECRET_KEY": "x" * 40,
        "BOXOFFICE_REDIS_URL": "",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "boxoffice.cli", "sweep"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "freed 2 seats, expired 1 bookings" in done.stdout
    statuses = await seat_statuses(app, st.showtime_id)
    assert set(statuses.values()) == {"available"}


async def test_concurrent_holds_of_one_customer_respect_the_limit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=8)
    alice = await make_customer(app)
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v1/bookings",
                json={"showtime_id": st.showtime_id, "seat_ids": [seat]},
                headers=alice.headers,
            )
            for seat in st.seat_ids[:6]
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 201, 201, 409, 409, 409], [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"too_many_holds"}
