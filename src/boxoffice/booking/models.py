"""Booking tables: bookings, their seats (priced lines), tickets and idempotency records."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.db import Base
from boxoffice.kit.clock import utc_now


class BookingStatus(enum.StrEnum):
    """held -> confirmed -> refunded | cancelled; held -> expired | cancelled."""

    held = "held"
    confirmed = "confirmed"
    cancelled = "cancelled"
    expired = "expired"
    refunded = "refunded"


class TicketStatus(enum.StrEnum):
    """A ticket admits once (valid -> used); a replaced or refunded ticket is void."""

    valid = "valid"
    used = "used"
    void = "void"


class Booking(Base):
    """A customer's claim on seats of one showtime, held for a while, then paid (confirmed) or let go."""

    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    showtime_id: Mapped[int] = mapped_column(ForeignKey("showtimes.id", ondelete="RESTRICT"))
    cinema_id: Mapped[int] = mapped_column(ForeignKey("cinemas.id", ondelete="RESTRICT"))
    status: Mapped[BookingStatus] = mapped_column(
        Enum(BookingStatus, native_enum=False, length=16), default=BookingStatus.held
    )
    expires_at: Mapped[datetime]
    grace_used: Mapped[bool] = mapped_column(Boolean, default=False)
    total_amount: Mapped[int] = mapped_column(Integer, default=0)
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    items: Mapped[list[BookingItem]] = relationship(
        back_populates="booking", lazy="raise", cascade="all, delete-orphan", order_by="BookingItem.id"
    )

    __table_args__ = (
        Index("ix_bookings_user_status", "user_id", "status"),
        Index("ix_bookings_showtime_status", "showtime_id", "status"),
        Index("ix_bookings_cinema_id", "cinema_id"),
        Index("ix_bookings_status_expires", "status", "expires_at"),
    )


class BookingItem(Base):
    """One seat of a booking with the price it was sold at (a snapshot: prices may change later)."""

    __tablename__ = "booking_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id", ondelete="RESTRICT"))
    row: Mapped[str] = mapped_column(String(4))
    number: Mapped[int] = mapped_column(Integer)
    seat_type: Mapped[str] = mapped_column(String(16))
    price: Mapped[int] = mapped_column(Integer)

    booking: Mapped[Booking] = relationship(back_populates="items", lazy="raise")

    __table_args__ = (UniqueConstraint("booking_id", "seat_id"),)


class Ticket(Base):
    """An admission for one seat of one showtime; its code is signed by the server."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    showtime_id: Mapped[int] = mapped_column(ForeignKey("showtimes.id", ondelete="RESTRICT"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id", ondelete="RESTRICT"))
    row: Mapped[str] = mapped_column(String(4))
    number: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)
    status: Mapped[TicketStatus] = mapped_column(
        Enum(TicketStatus, native_enum=False, length=16), default=TicketStatus.valid
    )
    code: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    admitted_at: Mapped[datetime | None] = mapped_column(default=None)
    admitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    __table_args__ = (
        Index("ix_tickets_booking_id", "booking_id"),
        # The last guard: one live ticket per seat and showtime.
        Index(
            "uq_tickets_live_seat",
            "showtime_id",
            "seat_id",
            unique=True,
            sqlite_where=text("status IN ('valid', 'used')"),
            postgresql_where=text("status IN ('valid', 'used')"),
        ),
    )


class IdempotencyRecord(Base):
    """The first answer to a request made with an Idempotency-Key, replayed for retries."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    # The payment attempt a pay/checkout request started: a retry while it is unresolved learns its fate.
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL"), default=None
    )
    response_body: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        UniqueConstraint("user_id", "scope", "key"),
        Index("ix_idempotency_records_created_at", "created_at"),
    )
