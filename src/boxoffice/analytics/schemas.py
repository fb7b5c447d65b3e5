"""The analytics summary as the API returns it."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from boxoffice.kit.money import Money


class Figures(BaseModel):
    """Tickets sold, revenue and occupancy of a set of showtimes."""

    showtimes: int
    tickets_sold: int
    seats_total: int
    occupancy: float
    revenue: Money


class DayFigures(Figures):
    """The figures of the showtimes starting on one local day."""

    date: date


class MovieFigures(Figures):
    """The figures of one movie's showtimes."""

    movie_id: int
    title: str


class ShowtimeFigures(BaseModel):
    """The figures of one showtime."""

    showtime_id: int
    movie_id: int
    title: str
    cinema_id: int
    cinema_name: str
    screen_name: str
    starts_at: datetime
    local_start: str
    tickets_sold: int
    seats_held: int
    seats_total: int
    occupancy: float
    revenue: Money
    sold_out: bool


class SummaryRead(BaseModel):
    """Everything the dashboard shows for a period: totals, per day, per movie, per showtime."""

    date_from: date
    date_to: date
    cinema_id: int | None
    currency: str
    other_currencies: list[str]
    revenue_by_currency: list[Money]
    totals: Figures
    per_day: list[DayFigures]
    per_movie: list[MovieFigures]
    per_showtime: list[ShowtimeFigures]
    upcoming_sold_out: list[ShowtimeFigures]
