"""Account tables: users (more account tables live beside them as the domain grows)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.db import Base
from boxoffice.kit.clock import utc_now


class Role(enum.StrEnum):
    """What a user may do: customers book, owners run cinemas, admins run the platform."""

    customer = "customer"
    owner = "owner"
    admin = "admin"


class User(Base):
    """A person with an account. Deleting an account erases personal data but keeps the row (bookings)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16), default=Role.customer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    pending_email: Mapped[str | None] = mapped_column(String(320), default=None)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_users_role", "role"),)

    @property
    def email_verified(self) -> bool:
        """True once the current email address has been confirmed."""
        return self.email_verified_at is not None
