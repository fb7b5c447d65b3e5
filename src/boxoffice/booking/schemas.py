"""Booking request and response schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from boxoffice.kit.money import Money

MAX_SEATS_INPUT = 100
MAX_ID = 2_147_483_647  # database integer ids; larger numbers are bad input, not a database error

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


class BookingCreate(BaseModel):
    """Hold seats: explicit `seat_ids`, or `count` for the best available seats."""

    model_config = ConfigDict(extra="forbid")

    showtime_id: DbId
    seat_ids: list[DbId] | None = Field(default=None, max_length=MAX_SEATS_INPUT)
    count: int | None = Field(default=None, ge=1, le=MAX_SEATS_INPUT)

    @model_validator(mode="after")
    def _one_of(self) -> BookingCreate:
        if (self.seat_ids is None) == (self.count is None):
            raise ValueError("give either seat_ids or count")
        if self.seat_ids is not None:
            if not self.seat_ids:
                raise ValueError("seat_ids may not be empty")
            if len(set(self.seat_ids)) != len(self.seat_ids):
                raise ValueError("seat_ids contains duplicates")
        return self


class BookingUpdate(BaseModel):
    """Change the seats of a booking (same showtime); payment details cover a higher price."""

    model_config = ConfigDict(extra="forbid")

    seat_ids: list[DbId] = Field(min_length=1, max_length=MAX_SEATS_INPUT)
    method: Literal["card"] = "card"
    card_number: str | None = Field(default=None, min_length=12, max_length=23)
    payment_method: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _unique(self) -> BookingUpdate:
        if len(set(self.seat_ids)) != len(self.seat_ids):
            raise ValueError("seat_ids contains duplicates")
        return self


class PaymentCreate(BaseModel):
    """Pay a booking (or the cart): a test card number (simulated) or a Stripe payment method id."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["card"] = "card"
    card_number: str | None = Field(default=None, min_length=12, max_length=23, pattern=r"^[0-9 -]+$")
    expiry: str | None = Field(default=None, max_length=7)
    cvc: str | None = Field(default=None, max_length=4)
    payment_method: str | None = Field(default=None, max_length=120)


class CheckinRequest(BaseModel):
    """A scanned ticket code, optionally for a given showtime (the door being scanned at)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=200)
    showtime_id: DbId | None = None


class SeatRead(BaseModel):
    """A seat of a booking with its price."""

    seat_id: int
    row: str
    number: int
    label: str
    seat_type: str
    price: Money


class TicketRead(BaseModel):
    """A ticket and its signed code."""

    id: int
    seat_id: int
    seat: str
    status: str
    code: str
    price: Money
    admitted_at: datetime | None


class PaymentRead(BaseModel):
    """A payment of the booking (never a card number; at most its last four digits)."""

    id: int
    method: str = "card"
    provider: str
    purpose: str = "booking"  # booking | seat_change
    status: str  # pending | succeeded | declined | refunded
    amount: Money
    refunded: Money
    card_last4: str | None
    created_at: datetime


class RefundRead(BaseModel):
    """Money owed back on the booking: `pending` until the provider confirms it, then `succeeded`."""

    amount: Money
    status: str  # pending | succeeded | failed
    reason: str  # customer_cancelled, staff_cancelled, showtime_cancelled, seat_change, late_payment, ...
    created_at: datetime
    completed_at: datetime | None


class ShowtimeBrief(BaseModel):
    """What a booking shows about its showtime."""

    id: int
    movie_id: int
    movie_title: str
    cinema_id: int
    cinema_name: str
    screen_name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    status: str


class BookingRead(BaseModel):
    """A booking with seats, price breakdown and (once confirmed) tickets and payments."""

    reference: str
    status: str
    expires_at: datetime | None
    created_at: datetime
    confirmed_at: datetime | None
    showtime: ShowtimeBrief
    seats: list[SeatRead]
    subtotal: Money
    total: Money
    refunded: Money
    tickets: list[TicketRead]
    payments: list[PaymentRead]
    refunds: list[RefundRead] = []
    customer_email: str | None = None
    payment_client_secret: str | None = None


class BookingList(BaseModel):
    """A page of bookings."""

    items: list[BookingRead]
    total: int
    page: int
    per_page: int


class CancelQuoteRead(BaseModel):
    """What cancelling now would do."""

    reference: str
    allowed: bool
    percent: int
    refund: Money
    reason: str
    status_after: str


class CartRead(BaseModel):
    """The caller's held bookings and what they cost together."""

    items: list[BookingRead]
    total: Money | None
    expires_at: datetime | None


class CheckinRead(BaseModel):
    """An admitted ticket."""

    admitted: bool
    ticket_id: int
    booking_reference: str
    seat: str
    showtime: ShowtimeBrief
