"""Account tables: users, refresh-token families, one-time email tokens and MFA recovery codes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String
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
    # The last TOTP time step accepted: a code is never accepted twice (replay).
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Access tokens issued before this instant are refused unless their session (refresh family) survived.
    tokens_valid_after: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_users_role", "role"),)

    @property
    def email_verified(self) -> bool:
        """True once the current email address has been confirmed."""
        return self.email_verified_at is not None


class RefreshToken(Base):
    """One opaque refresh token (stored hashed). Tokens rotated from one sign-in share a `family_id`."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(200), default=None)

    __table_args__ = (
        Index("ix_refresh_tokens_user_id", "user_id"),
        Index("ix_refresh_tokens_family_id", "family_id"),
    )


class TokenPurpose(enum.StrEnum):
    """What a one-time emailed token proves."""

    verify_email = "verify_email"
    reset_password = "reset_password"  # noqa: S105 (a purpose name, not a secret)


class AccountToken(Base):
    """A single-use, expiring token sent by email (verification or reset), stored hashed."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose] = mapped_column(Enum(TokenPurpose, native_enum=False, length=32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address the token was sent to: verification confirms exactly this address.
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_account_tokens_user_id", "user_id"),)


class RecoveryCode(Base):
    """A one-time MFA recovery code, stored as a keyed hash."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_mfa_recovery_codes_user_id", "user_id"),)
