"""What the authorization matrix needs: the world, fresh resources, and how to judge answers."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import hash_password
from boxoffice.catalog.models import Genre, Movie, Person
from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers
from tests.factories.showtimes import BuiltShowtime, make_showtime
from tests.reliability.actors import ACTORS, World

API = "/api/v1"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CARD_OK = "4242424242424242"


@dataclass
class Ctx:
    """The app, a client, the world of six actors and builders of fresh resources."""

    app: FastAPI
    client: httpx.AsyncClient
    world: World
    cache: dict[str, Any] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        """Bearer headers of `actor` (empty for anonymous)."""
        return self.world.headers[actor]

    def uid(self, actor: str) -> int:
        """User id of `actor`."""
        return self.world.id(actor)

    async def fresh_user(self, role: Role = Role.customer) -> tuple[int, dict[str, str], str]:
        """A new verified user of `role` with DEFAULT_PASSWORD: (id, headers, email); hashed once per run."""
        if "hash" not in self.cache:
            self.cache["hash"] = hash_password(DEFAULT_PASSWORD)
        user = User(
            email=f"fresh-{secrets.token_hex(5)}@example.com",
            full_name="Fresh Person",
            role=role,
            password_hash=self.cache["hash"],
            email_verified_at=utc_now(),
        )
        async with transaction(self.app.state.sessionmaker) as session:
            session.add(user)
            await session.flush()
        return user.id, auth_headers(self.app, user), user.email

    async def fresh_showtime(
        self, owner: str = "owner_x", *, starts_in_minutes: int = 2 * 24 * 60
    ) -> BuiltShowtime:
        """A new cinema + showtime of `owner`."""
        return await make_showtime(
            self.app,
            owner_id=self.uid(owner),
            rows=3,
            seats_per_row=5,
            starts_in=timedelta(minutes=starts_in_minutes),
        )

    def free_seats(self, count: int, show: BuiltShowtime | None = None) -> list[int]:
        """Seats of `show` (owner X's by default) that no booking of the matrix has taken yet."""
        show = show or self.world.show_x
        taken: set[int] = self.cache.setdefault(f"taken-{show.showtime_id}", set())
        free = [s for s in show.seat_ids if s not in taken][:count]
        taken.update(free)
        return free

    async def screen(self, owner: str = "owner_x") -> int:
        """A new screen (without showtimes) in a new cinema of `owner`."""
        from boxoffice.venues.models import Cinema, Screen

        async with transaction(self.app.state.sessionmaker) as session:
            cinema = Cinema(name="Spare", city="Faro", timezone="Europe/Lisbon", owner_id=self.uid(owner))
            session.add(cinema)
            await session.flush()
            screen = Screen(cinema_id=cinema.id, name="Spare 1", formats=["2D"], layout=["AA"], seat_count=0)
            session.add(screen)
            await session.flush()
            return screen.id

    async def genre(self) -> int:
        """A new genre."""
        tag = secrets.token_hex(4)
        async with transaction(self.app.state.sessionmaker) as session:
            g = Genre(name=f"Genre {tag}", slug=f"genre-{tag}")
            session.add(g)
            await session.flush()
            return g.id

    async def person(self, creator: str = "owner_x") -> int:
        """A new person created by `creator`."""
        async with transaction(self.app.state.sessionmaker) as session:
            p = Person(name="Pat Person", name_search="pat person", created_by_id=self.uid(creator))
            session.add(p)
            await session.flush()
            return p.id

    async def movie(self, creator: str = "owner_x") -> int:
        """A new movie created by `creator`."""
        async with transaction(self.app.state.sessionmaker) as session:
            m = Movie(
                title="Owned", title_search="owned", runtime_minutes=90, created_by_id=self.uid(creator)
            )
            session.add(m)
            await session.flush()
            return m.id

    async def booking(
        self,
        customer: str = "customer_a",
        *,
        paid: bool = True,
        show: BuiltShowtime | None = None,
        seats: int = 1,
    ) -> dict[str, Any]:
        """A booking of `customer` on owner X's showtime (through the API), paid unless told."""
        show = show or self.world.show_x
        free = self.free_seats(seats, show)
        if len(free) < seats:
            self.world.show_x = show = await self.fresh_showtime()
            return await self.booking(customer, paid=paid, show=show, seats=seats)
        if not paid:  # a customer may hold only a few unpaid bookings: let go of earlier ones
            await self.client.delete(f"{API}/cart", headers=self.headers(customer))
        r = await self.client.post(
            f"{API}/bookings",
            json={"showtime_id": show.showtime_id, "seat_ids": free},
            headers=self.headers(customer),
        )
        assert r.status_code == 201, f"matrix setup: POST /bookings answered {r.status_code} {r.text}"
        booking: dict[str, Any] = r.json()
        if paid:
            r = await self.client.post(
                f"{API}/bookings/{booking['reference']}/pay",
                json={"method": "card", "card_number": CARD_OK},
                headers=self.headers(customer),
            )
            assert r.status_code == 200, f"matrix setup: pay answered {r.status_code} {r.text}"
            booking = r.json()
        return booking

    async def csrf_token(self) -> str:
        """A fresh anonymous page session (its cookie left in the client's jar) and its CSRF token."""
        self.client.cookies.clear()
        page = await self.client.get("/login")
        found = CSRF_INPUT.search(page.text)
        assert found, "no csrf_token field on /login"
        return found.group(1)

    async def booking_a(self) -> dict[str, Any]:
        """Customer A's confirmed booking at owner X's cinema (built once)."""
        if "booking_a" not in self.cache:
            self.cache["booking_a"] = await self.booking("customer_a")
        value: dict[str, Any] = self.cache["booking_a"]
        return value


Maker = Callable[[Ctx, str], Any]


async def resolve(value: Maker | Any, ctx: Ctx, actor: str) -> Any:
    """Call `value(ctx, actor)` when it is callable (awaiting it when needed), else return it."""
    if callable(value):
        result = value(ctx, actor)
        if inspect.isawaitable(result):
            result = await result
        return result
    return value


@dataclass(frozen=True)
class Row:
    """One route of the matrix: what each actor gets, and how to build the request.

    `expect` lists one answer per actor in ACTORS order: a status code, `ok` (any 2xx), `no` (403 or
    404), or `in` (got past the access rules: not 401, 403 or 404, and not a 5xx: the answer depends
    on the body).
    """

    expect: str
    ids: Maker | tuple[Any, ...] | None = None
    json: Maker | Any = None
    form: Maker | Any = None
    query: Maker | Any = None
    fresh_actor: Role | None = None  # the call changes the caller itself: use a new user of this role
    stream: bool = False  # an endless response (SSE): only the status line is read
    csrf: bool = False  # a page form: send a valid CSRF token (the attack tests send none or a wrong one)
    note: str = ""

    def expected(self) -> dict[str, str]:
        """actor -> expected answer."""
        cells = self.expect.split()
        assert len(cells) == len(ACTORS), f"row {self.expect!r} needs {len(ACTORS)} cells"
        return dict(zip(ACTORS, cells, strict=True))


async def first_status(app: FastAPI, method: str, path: str, headers: dict[str, str]) -> int:
    """The status an endless (SSE) response starts with; the client then disconnects."""
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.wait([started], timeout=10)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and not started.done():
            started.set_result(int(message["status"]))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.7", 5555),
        "server": ("testserver", 80),
        "state": {},
    }
    task = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    try:
        return await asyncio.wait_for(asyncio.shield(started), timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def judge(expected: str, status: int) -> bool:
    """True when `status` is the `expected` cell."""
    if expected == "ok":
        return 200 <= status < 300
    if expected == "no":  # denied without saying more: 403, or 404 when the caller may not see it
        return status in (403, 404)
    if expected == "in":
        return status not in (401, 403, 404) and status < 500
    return status == int(expected)
