"""Showtime tables: the showtime and its seat inventory (one row per seat, what bookings claim)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.db import Base
from boxoffice.kit.clock import utc_now


class ShowtimeStatus(enum.StrEnum):
    """A showtime is scheduled until it is cancelled."""

    scheduled = "scheduled"
    cancelled = "cancelled"


class SeatStatus(enum.StrEnum):
    """The state of one seat for one showtime. A `held` seat whose hold has expired counts as available."""

    available = "available"
    held = "held"
    sold = "sold"
    blocked = "blocked"


class Showtime(Base):
    """A screening: movie, screen, start and end (runtime + cleaning), format, language and prices."""

    __tablename__ = "showtimes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="RESTRICT"))
    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id", ondelete="RESTRICT"))
    cinema_id: Mapped[int] = mapped_column(ForeignKey("cinemas.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    format: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    subtitles: Mapped[str | None] = mapped_column(String(16), default=None)
    prices: Mapped[dict[str, int]] = mapped_column(JSON)  # seat type -> minor units
    currency: Mapped[str] = mapped_column(String(3))
    sales_close_at: Mapped[datetime]
    status: Mapped[ShowtimeStatus] = mapped_column(
        Enum(ShowtimeStatus, native_enum=False, length=16), default=ShowtimeStatus.scheduled
    )
    seats_total: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        Index("ix_showtimes_screen_starts", "screen_id", "starts_at"),
        Index("ix_showtimes_cinema_starts", "cinema_id", "starts_at"),
        Index("ix_showtimes_movie_starts", "movie_id", "starts_at"),
        Index("ix_showtimes_starts_at", "starts_at"),
    )


class ShowtimeSeat(Base):
    """One seat of one showtime. Seat facts are copied here so the seat map is one query on one table.

    Claims are conditional updates on this row; the unique (showtime_id, seat_id) pair means a seat can
    belong to at most one live booking: the last guard against selling a seat twice.
    """

    __tablename__ = "showtime_seats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    showtime_id: Mapped[int] = mapped_column(ForeignKey("showtimes.id", ondelete="CASCADE"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id", ondelete="RESTRICT"))
    row: Mapped[str] = mapped_column(String(4))
    number: Mapped[int] = mapped_column(Integer)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    seat_type: Mapped[str] = mapped_column(String(16))
    price: Mapped[int] = mapped_column(Integer)
    status: Mapped[SeatStatus] = mapped_column(
        Enum(SeatStatus, native_enum=False, length=16), default=SeatStatus.available
    )
    booking_id: Mapped[int | None] = mapped_column(Integer, default=None)
    holder_id: Mapped[int | None] = mapped_column(Integer, default=None)  # the user holding/owning it
    hold_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("showtime_id", "seat_id"),
        Index("ix_showtime_seats_booking_id", "booking_id"),
        Index("ix_showtime_seats_held", "status", "hold_expires_at"),
    )
