"""Build a bookable showtime (cinema, screen, seats, movie, showtime and its seat inventory) in one call.

Inserted straight through the ORM so that booking tests do not depend on the catalogue API.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from boxoffice.catalog.models import Movie
from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes.models import Showtime, ShowtimeSeat
from boxoffice.venues.models import Cinema, Screen, Seat, SeatType

DEFAULT_PRICES = {"standard": 1200, "premium": 1600, "recliner": 2000, "wheelchair": 1200, "companion": 1200}


@dataclass
class BuiltShowtime:
    """Ids of what was built."""

    showtime_id: int
    cinema_id: int
    screen_id: int
    movie_id: int
    seat_ids: list[int]


async def make_showtime(
    app: FastAPI,
    *,
    rows: int = 10,
    seats_per_row: int = 10,
    owner_id: int | None = None,
    starts_in: timedelta = timedelta(days=2),
    prices: dict[str, int] | None = None,
    currency: str = "EUR",
) -> BuiltShowtime:
    """A cinema with one screen of rows x seats_per_row standard seats and one showtime on it."""
    starts_at = utc_now() + starts_in
    async with transaction(app.state.sessionmaker) as session:
        cinema = Cinema(name="Test Cinema", city="Lisbon", timezone="Europe/Lisbon", owner_id=owner_id)
        movie = Movie(title="Test Movie", title_search="test movie", runtime_minutes=100)
        session.add_all([cinema, movie])
        await session.flush()
        screen = Screen(
            cinema_id=cinema.id,
            name="Screen 1",
            formats=["2D"],
            layout=["A" * seats_per_row] * rows,
            seat_count=rows * seats_per_row,
        )
        session.add(screen)
        await session.flush()
        seats = [
            Seat(
                screen_id=screen.id,
                row=string.ascii_uppercase[r],
                number=n + 1,
                x=n,
                y=r,
                type=SeatType.standard,
            )
            for r in range(rows)
            for n in range(seats_per_row)
        ]
        session.add_all(seats)
        await session.flush()
        price_map = prices or DEFAULT_PRICES
        showtime = Showtime(
            movie_id=movie.id,
            screen_id=screen.id,
            cinema_id=cinema.id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=115),
            format="2D",
            language="en",
            prices=price_map,
            currency=currency,
            sales_close_at=starts_at,
            seats_total=len(seats),
        )
        session.add(showtime)
        await session.flush()
        session.add_all(
            [
                ShowtimeSeat(
                    showtime_id=showtime.id,
                    seat_id=s.id,
                    row=s.row,
                    number=s.number,
                    x=s.x,
                    y=s.y,
                    seat_type=s.type.value,
                    price=price_map[s.type.value],
                )
                for s in seats
            ]
        )
        await session.flush()
        return BuiltShowtime(showtime.id, cinema.id, screen.id, movie.id, [s.id for s in seats])
