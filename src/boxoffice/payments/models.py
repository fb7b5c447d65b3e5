"""Payment tables: charge attempts (one may pay several bookings), refund jobs and applied webhook events.

A payment row is written, with its own idempotency key, before the provider is called; a refund row is
written in the transaction that owes the money and sent to the provider by a worker (payments/refunds.py).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.db import Base
from boxoffice.kit.clock import utc_now


class PaymentStatus(enum.StrEnum):
    """pending (attempt written, the provider's answer not applied yet) -> succeeded | declined;
    succeeded -> refunded once refunds cover the whole amount."""

    pending = "pending"
    succeeded = "succeeded"
    declined = "declined"
    refunded = "refunded"


class PaymentPurpose(enum.StrEnum):
    """What a charge pays for: bookings (pay, cart checkout) or a seat change's price difference."""

    booking = "booking"
    seat_change = "seat_change"


class Payment(Base):
    """One charge attempt with a provider. No card number is stored: at most its last four digits."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(16))
    # Sent to the provider with the charge: one per attempt, never reused (a retry is a replay of it).
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    client_key: Mapped[str | None] = mapped_column(String(200), default=None)  # the caller's Idempotency-Key
    purpose: Mapped[PaymentPurpose] = mapped_column(
        Enum(PaymentPurpose, native_enum=False, length=16), default=PaymentPurpose.booking
    )
    # A seat change's plan: {"add": [seat ids], "remove": [seat ids]}; applied when the charge succeeds.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=None)
    provider_ref: Mapped[str | None] = mapped_column(String(120), default=None)
    amount: Mapped[int] = mapped_column(Integer)
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(
        Enum(PaymentStatus, native_enum=False, length=16), default=PaymentStatus.pending
    )
    card_last4: Mapped[str | None] = mapped_column(String(4), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    items: Mapped[list[PaymentItem]] = relationship(
        back_populates="payment", lazy="raise", cascade="all, delete-orphan", order_by="PaymentItem.id"
    )

    __table_args__ = (
        Index("ix_payments_provider_ref", "provider_ref"),
        Index("ix_payments_user_id", "user_id"),
        Index("ix_payments_status_created", "status", "created_at"),
    )


class PaymentItem(Base):
    """The share of a payment that pays one booking."""

    __tablename__ = "payment_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(Integer)

    payment: Mapped[Payment] = relationship(back_populates="items", lazy="raise")

    __table_args__ = (Index("ix_payment_items_booking_id", "booking_id"),)


class RefundStatus(enum.StrEnum):
    """pending (owed, the worker sends it) -> succeeded; failed after many attempts (kept for a person)."""

    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class Refund(Base):
    """Money owed back on a payment for one booking (cancellation, seat change, late payment): a durable
    job that the refund worker sends to the provider with its own idempotency key until it succeeds."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    amount: Mapped[int] = mapped_column(Integer)
    provider_ref: Mapped[str | None] = mapped_column(String(120), default=None)
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[RefundStatus] = mapped_column(
        Enum(RefundStatus, native_enum=False, length=16), default=RefundStatus.pending
    )
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_refunds_payment_id", "payment_id"),
        Index("ix_refunds_booking_id", "booking_id"),
        Index("ix_refunds_due", "status", "next_attempt_at"),
    )


class WebhookEvent(Base):
    """A provider event already applied (its id is the key), so a replay changes nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
