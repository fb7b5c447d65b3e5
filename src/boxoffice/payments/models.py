"""Payment tables: charges (one may pay several bookings), refunds and applied webhook events."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.db import Base
from boxoffice.kit.clock import utc_now


class PaymentStatus(enum.StrEnum):
    """pending (waiting for the provider) -> succeeded | declined; succeeded -> (partially) refunded."""

    pending = "pending"
    succeeded = "succeeded"
    declined = "declined"
    refunded = "refunded"


class Payment(Base):
    """One charge with a provider. No card number is stored: at most its last four digits."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(16))
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


class Refund(Base):
    """Money given back on a payment for one booking (cancellation, seat change, late payment)."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    amount: Mapped[int] = mapped_column(Integer)
    provider_ref: Mapped[str | None] = mapped_column(String(120), default=None)
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (Index("ix_refunds_payment_id", "payment_id"),)


class WebhookEvent(Base):
    """A provider event already applied (its id is the key), so a replay changes nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
