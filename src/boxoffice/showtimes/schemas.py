"""Request and response bodies of showtimes, seat maps and best-available answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from boxoffice.catalog.inputs import MAX_AMOUNT, MAX_ID, CleanInput
from boxoffice.kit.money import Money
from boxoffice.showtimes.models import SeatStatus, ShowtimeStatus
from boxoffice.venues.models import SeatType

Language = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
    ),
]
Amount = Annotated[int, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]


class ShowtimeCreate(CleanInput):
    """A new showtime; `ends_at` is computed (runtime + the cinema's cleaning time)."""

    movie_id: int = Field(ge=1, le=MAX_ID)
    screen_id: int = Field(ge=1, le=MAX_ID)
    starts_at: AwareDatetime
    format: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] = "2D"
    language: Language | None = Field(default=None, description="defaults to the movie's original language")
    subtitles: Language | None = None
    prices: dict[SeatType, Amount] = Field(
        min_length=1,
        description="minor units per seat type; every type present on the screen needs a price",
        examples=[{"standard": 1200, "premium": 1600, "wheelchair": 1200, "companion": 1200}],
    )
    currency: Currency = "EUR"
    sales_close_minutes: int | None = Field(
        default=None, ge=0, le=24 * 60, description="sales close this many minutes before the start"
    )


class ShowtimeUpdate(CleanInput):
    """Changes to a showtime. Moving it is refused once seats are sold or held."""

    starts_at: AwareDatetime | None = None
    format: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None = (
        None
    )
    language: Language | None = None
    subtitles: Language | None = None
    prices: dict[SeatType, Amount] | None = Field(default=None, min_length=1)
    sales_close_minutes: int | None = Field(default=None, ge=0, le=24 * 60)


class ShowtimeRead(BaseModel):
    """A showtime; times in UTC plus the cinema's local time."""

    id: int
    movie_id: int
    movie_title: str
    cinema_id: int
    cinema_name: str
    screen_id: int
    screen_name: str
    timezone: str
    starts_at: datetime
    starts_at_local: datetime
    ends_at: datetime
    ends_at_local: datetime
    format: str
    language: str
    subtitles: str | None
    prices: dict[str, Money]
    sales_close_at: datetime
    status: ShowtimeStatus
    seats_total: int
    seats_available: int | None = None


class SeatCounts(BaseModel):
    """Seats per status."""

    available: int
    held: int
    sold: int
    blocked: int
    total: int


class SeatMapSeat(BaseModel):
    """One seat on the seat map."""

    seat_id: int
    row: str
    number: int
    x: int
    y: int
    type: SeatType
    status: SeatStatus
    price: Money
    mine: bool


class SeatMap(BaseModel):
    """Every seat of a showtime and the counts per status."""

    showtime_id: int
    counts: SeatCounts
    seats: list[SeatMapSeat]


class BestSeatRead(BaseModel):
    """One seat of a best-available block."""

    seat_id: int
    row: str
    number: int
    x: int
    y: int
    type: SeatType
    price: Money


class BestBlock(BaseModel):
    """The best available block of seats."""

    showtime_id: int
    count: int
    seats: list[BestSeatRead]
    total: Money
