"""What the authorization matrix needs: the world, fresh resources, and how to judge answers."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from boxoffice.catalog.models import Genre, Movie, Person
from boxoffice.db import transaction
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import BuiltShowtime, make_showtime
from tests.reliability.actors import ACTORS, World

API = "/api/v1"
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
        """A new user of `role`: (id, headers, email)."""
        user = await make_user(self.app, role=role)
        return user.id, auth_headers(self.app, user), user.email

    async def fresh_showtime(self, owner: str = "owner_x") -> BuiltShowtime:
        """A new cinema + showtime of `owner`."""
        return await make_showtime(self.app, owner_id=self.uid(owner), rows=3, seats_per_row=5)

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
        taken: set[int] = self.cache.setdefault(f"taken-{show.showtime_id}", set())
        free = [s for s in show.seat_ids if s not in taken][:seats]
        if len(free) < seats:
            show = await self.fresh_showtime()
            return await self.booking(customer, paid=paid, show=show, seats=seats)
        taken.update(free)
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

    `expect` lists one answer per actor in ACTORS order: a status code, `ok` (any 2xx), or `in`
    (got past the access rules: not 401, 403 or 404, and not a 5xx: the answer depends on the body).
    """

    expect: str
    ids: Maker | tuple[Any, ...] | None = None
    json: Maker | Any = None
    form: Maker | Any = None
    query: Maker | Any = None
    fresh_actor: Role | None = None  # the call changes the caller itself: use a new user of this role
    note: str = ""

    def expected(self) -> dict[str, str]:
        """actor -> expected answer."""
        cells = self.expect.split()
        assert len(cells) == len(ACTORS), f"row {self.expect!r} needs {len(ACTORS)} cells"
        return dict(zip(ACTORS, cells, strict=True))


def judge(expected: str, status: int) -> bool:
    """True when `status` is the `expected` cell."""
    if expected == "ok":
        return 200 <= status < 300
    if expected == "in":
        return status not in (401, 403, 404) and status < 500
    return status == int(expected)
