"""Benchmark data: migrated databases, a 300-seat showtime per scenario, buyers and their tokens.

Small things (one cinema, a few showtimes, a thousand buyers) go through SQLAlchemy Core so that they are
the same on SQLite and PostgreSQL. The large database lives in `bench/large.py` (set-based SQL).
"""

from __future__ import annotations

import asyncio
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import create_access_token, hash_password
from boxoffice.catalog.models import Movie
from boxoffice.config import Settings
from boxoffice.db import create_engine
from boxoffice.kit.clock import utc_now
from boxoffice.migrate import upgrade
from boxoffice.model_registry import import_all_models
from boxoffice.showtimes.models import Showtime, ShowtimeSeat
from boxoffice.venues.models import Cinema, Screen, Seat, SeatType

import_all_models()

ROWS = 15
SEATS_PER_ROW = 20  # 15 x 20 = the 300-seat showtime of the issue
PRICE = 1200
BENCH_CINEMA = "Bench Cinema"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class BenchFixture:
    """Ids of the benchmark cinema, its screen and seats, and the showtimes made so far."""

    cinema_id: int
    screen_id: int
    movie_id: int
    seat_ids: list[int]
    listing_date: str
    browse_showtime_id: int
    showtimes: list[int] = field(default_factory=list)


def pg_url(name: str) -> str:
    """SQLAlchemy URL of database `name` on the local PostgreSQL server."""
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def recreate_pg_database(name: str) -> str:
    """Drop and create database `name`; returns its SQLAlchemy URL."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg_url(name)


async def pg_database_exists(name: str) -> bool:
    """True when database `name` exists on the local server."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def migrate(url: str) -> None:
    """Apply every migration head to `url`."""
    await asyncio.to_thread(upgrade, url)


async def load_demo_data(settings: Settings) -> None:
    """The project's own demo data (what `make run` shows), the 'demo database' of the scale ratio."""
    from boxoffice.demo import load_demo

    await load_demo(settings)


async def create_fixture(
    engine: AsyncEngine, *, owner_email: str = "bench-owner@example.com"
) -> BenchFixture:
    """The benchmark cinema: one 15x20 screen, a movie and a few showtimes for the listing."""
    async with engine.begin() as conn:
        owner_id = await conn.scalar(select(User.id).where(User.email == owner_email))
        if owner_id is None:
            owner_id = await conn.scalar(
                insert(User)
                .values(
                    email=owner_email,
                    full_name="Bench Owner",
                    password_hash=hash_password("bench-owner-password"),
                    role=Role.owner,
                    is_active=True,
                    mfa_enabled=False,
                    email_verified_at=utc_now(),
                    created_at=utc_now(),
                    updated_at=utc_now(),
                )
                .returning(User.id)
            )
        now = utc_now()
        cinema_id = await conn.scalar(
            insert(Cinema)
            .values(
                name=BENCH_CINEMA,
                address="1 Load Street",
                city="Benchton",
                timezone="UTC",
                cleaning_minutes=15,
                owner_id=owner_id,
                created_at=now,
            )
            .returning(Cinema.id)
        )
        screen_id = await conn.scalar(
            insert(Screen)
            .values(
                cinema_id=cinema_id,
                name="Screen 1",
                formats=["2D"],
                layout=["A" * SEATS_PER_ROW] * ROWS,
                seat_count=ROWS * SEATS_PER_ROW,
                created_at=now,
            )
            .returning(Screen.id)
        )
        await conn.execute(
            insert(Seat),
            [
                {
                    "screen_id": screen_id,
                    "row": string.ascii_uppercase[r],
                    "number": n + 1,
                    "x": n,
                    "y": r,
                    "type": SeatType.standard,
                }
                for r in range(ROWS)
                for n in range(SEATS_PER_ROW)
            ],
        )
        seat_ids = list(
            (await conn.scalars(select(Seat.id).where(Seat.screen_id == screen_id).order_by(Seat.id))).all()
        )
        movie_id = await conn.scalar(
            insert(Movie)
            .values(
                title="The Benchmark",
                title_search="the benchmark",
                synopsis="Three hundred seats, one showtime, everyone at once.",
                runtime_minutes=100,
                certificate="12",
                original_language="en",
                production_company="Load Pictures",
                created_at=now,
            )
            .returning(Movie.id)
        )
    day = (utc_now() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    fixture = BenchFixture(
        cinema_id=cinema_id,
        screen_id=screen_id,
        movie_id=movie_id,
        seat_ids=seat_ids,
        listing_date=day.date().isoformat(),
        browse_showtime_id=0,
    )
    # The listing day: five showtimes on the bench screen; the first is the seat-map showtime.
    for slot in range(5):
        sid = await add_showtime(engine, fixture, starts_at=day + timedelta(hours=2 * slot))
        if slot == 0:
            fixture.browse_showtime_id = sid
    return fixture


async def add_showtime(
    engine: AsyncEngine, fixture: BenchFixture, *, starts_at: datetime | None = None
) -> int:
    """A fresh 300-seat showtime on the bench screen (a new one per flash sale, so none starts half sold)."""
    if starts_at is None:
        # Far in the future, two hours apart: never overlapping, never closing during a run.
        starts_at = (utc_now() + timedelta(days=30 + len(fixture.showtimes))).replace(microsecond=0)
    prices = {"standard": PRICE, "premium": 1600, "recliner": 2000, "wheelchair": PRICE, "companion": PRICE}
    async with engine.begin() as conn:
        showtime_id = await conn.scalar(
            insert(Showtime)
            .values(
                movie_id=fixture.movie_id,
                screen_id=fixture.screen_id,
                cinema_id=fixture.cinema_id,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=115),
                format="2D",
                language="en",
                prices=prices,
                currency="EUR",
                sales_close_at=starts_at,
                status="scheduled",
                seats_total=len(fixture.seat_ids),
                created_at=utc_now(),
            )
            .returning(Showtime.id)
        )
        seats = (
            await conn.execute(
                select(Seat.id, Seat.row, Seat.number, Seat.x, Seat.y).where(
                    Seat.screen_id == fixture.screen_id
                )
            )
        ).all()
        await conn.execute(
            insert(ShowtimeSeat),
            [
                {
                    "showtime_id": showtime_id,
                    "seat_id": s.id,
                    "row": s.row,
                    "number": s.number,
                    "x": s.x,
                    "y": s.y,
                    "seat_type": "standard",
                    "price": PRICE,
                    "status": "available",
                    "version": 0,
                }
                for s in seats
            ],
        )
    fixture.showtimes.append(showtime_id)
    return int(showtime_id)


async def create_buyers(engine: AsyncEngine, *, count: int, prefix: str = "buyer") -> list[int]:
    """`count` verified customers (inserted in one statement; their password is never used)."""
    dummy_hash = hash_password("bench-buyer-password-unused")
    now = utc_now()
    async with engine.begin() as conn:
        start = int(await conn.scalar(select(func.coalesce(func.max(User.id), 0))) or 0)
        await conn.execute(
            insert(User),
            [
                {
                    "email": f"{prefix}-{start + i}@bench.example.com",
                    "full_name": f"Buyer {start + i}",
                    "password_hash": dummy_hash,
                    "role": Role.customer,
                    "is_active": True,
                    "mfa_enabled": False,
                    "email_verified_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
        ids = (
            await conn.scalars(
                select(User.id).where(User.email.like(f"{prefix}-%@bench.example.com")).order_by(User.id)
            )
        ).all()
    return list(ids)[-count:]


def mint_tokens(settings: Settings, user_ids: list[int]) -> list[str]:
    """A bearer token per user, signed with the server's secret (no login round-trip)."""
    return [create_access_token(settings, user_id=uid, role=Role.customer.value)[0] for uid in user_ids]


async def seat_counts(engine: AsyncEngine, showtime_id: int) -> dict[str, int]:
    """How many seats of a showtime are in each status."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(ShowtimeSeat.status, func.count())
                .where(ShowtimeSeat.showtime_id == showtime_id)
                .group_by(ShowtimeSeat.status)
            )
        ).all()
    return {str(getattr(status, "value", status)): int(n) for status, n in rows}


def engine_for(url: str) -> AsyncEngine:
    """A small engine for the harness's own queries."""
    return create_engine(url, pool_size=2)
