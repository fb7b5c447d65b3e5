"""Venue tables: cinemas, screens and the physical seats of a screen."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.db import Base
from boxoffice.kit.clock import utc_now


class SeatType(enum.StrEnum):
    """Kinds of seat; the layout letters are A, P, R, W, C."""

    standard = "standard"
    premium = "premium"
    recliner = "recliner"
    wheelchair = "wheelchair"
    companion = "companion"


class Cinema(Base):
    """A cinema building, run by its owner, in its own timezone."""

    __tablename__ = "cinemas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    cleaning_minutes: Mapped[int] = mapped_column(Integer, default=15)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    screens: Mapped[list[Screen]] = relationship(
        back_populates="cinema", lazy="raise", order_by="Screen.name"
    )

    __table_args__ = (Index("ix_cinemas_owner_id", "owner_id"), Index("ix_cinemas_city", "city"))


class Screen(Base):
    """An auditorium with the formats it can play and a seat layout."""

    __tablename__ = "screens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cinema_id: Mapped[int] = mapped_column(ForeignKey("cinemas.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    layout: Mapped[list[str]] = mapped_column(JSON, default=list)  # rows of text, front row first
    seat_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    cinema: Mapped[Cinema] = relationship(back_populates="screens", lazy="raise")
    seats: Mapped[list[Seat]] = relationship(
        back_populates="screen", lazy="raise", cascade="all, delete-orphan", order_by="(Seat.y, Seat.x)"
    )

    __table_args__ = (UniqueConstraint("cinema_id", "name"),)


class Seat(Base):
    """A physical seat: row label, number, position on the plan and type."""

    __tablename__ = "seats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id", ondelete="CASCADE"))
    row: Mapped[str] = mapped_column(String(4))
    number: Mapped[int] = mapped_column(Integer)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    type: Mapped[SeatType] = mapped_column(Enum(SeatType, native_enum=False, length=16))

    screen: Mapped[Screen] = relationship(back_populates="seats", lazy="raise")

    __table_args__ = (UniqueConstraint("screen_id", "row", "number"),)
