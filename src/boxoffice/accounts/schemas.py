"""Account request and response bodies (inputs forbid unknown fields and bound every length)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from boxoffice.accounts.models import Role


def _no_control_chars(value: str) -> str:
    """Refuse NUL, other control characters and lone surrogates (they break storage and display)."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\t":
            raise ValueError("must not contain control characters or invalid unicode")
    return value


def _encodable(value: str) -> str:
    """Refuse lone surrogates and NUL (passwords may hold any other character)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid unicode") from exc
    return value


# Scripts that UTS #39 ("highly restrictive") lets one identifier mix: Japanese, Chinese and Korean
# writing with Latin. Any other mix (Latin with Cyrillic or Greek: "boxoffice" with a Greek omicron for
# an o) is how a look-alike of someone else's address is made.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_ALIASES: dict[str, str | None] = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "KATAKANA-HIRAGANA": "KATAKANA",  # the prolonged sound mark, used in both
    "MODIFIER": None,  # modifier letters belong to no one script
}


def _script(ch: str) -> str | None:
    """The script of a letter, from its Unicode name ("CYRILLIC SMALL LETTER O" -> CYRILLIC); None for
    digits, punctuation and combining marks, which belong to every script."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    word = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(word, word)


def mixes_scripts(text: str) -> bool:
    """True when the letters of `text` come from scripts that do not belong together."""
    scripts = {s for s in map(_script, text) if s is not None}
    return len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES)


def fold_email(value: str) -> str:
    """The form an address is stored and looked up in: NFKC-folded (fullwidth and other compatibility
    forms become the plain letters they look like), stripped and lower-cased."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def valid_email(value: str) -> str:
    """A syntactically valid address, NFKC-folded and lower-cased; refused (`email_mixed_scripts`) when
    its local part or a domain label mixes scripts. `.localhost` addresses (the demo accounts, local
    testing) are accepted; other special-use domains such as `.invalid` (reserved for deleted accounts)
    are not."""
    candidate = fold_email(value)
    local_part, _, domain = candidate.rpartition("@")
    if any(mixes_scripts(part) for part in [local_part, *domain.split(".")]):
        raise PydanticCustomError(
            "email_mixed_scripts",
            "the address mixes letters of different scripts (a look-alike of another address)",
        )
    is_local = domain.lower() == "localhost" or domain.lower().endswith(".localhost")
    checked = f"{local_part}@{domain[: -len('localhost')]}example" if is_local else candidate
    try:
        address = validate_email(checked, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from exc
    if is_local:
        return f"{address.local_part}@{domain}".lower()
    return address.normalized.lower()


def _loose_email(value: str) -> str:
    return _no_control_chars(fold_email(value))


# Addresses that create or change an account are validated; the ones only looked up (sign-in, forgot,
# resend) are just normalised, so that the answer never depends on what the validator thinks.
Email = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(valid_email)]
LookupEmail = Annotated[str, Field(min_length=1, max_length=320), AfterValidator(_loose_email)]
FullName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_chars),
]
Password = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_encodable)]
OpaqueToken = Annotated[str, Field(min_length=10, max_length=200, pattern=r"^[A-Za-z0-9_\-]+$")]
Otp = Annotated[str, Field(min_length=6, max_length=32, pattern=r"^[0-9A-Za-z\- ]+$")]
SearchText = Annotated[str, Field(max_length=100), AfterValidator(_no_control_chars)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_Input):
    """Self-registration."""

    email: Email
    password: Password
    full_name: FullName


class VerifyEmail(_Input):
    """The token from a verification link."""

    token: OpaqueToken


class EmailOnly(_Input):
    """Resend verification, forgot password."""

    email: LookupEmail


class LoginRequest(_Input):
    """Email and password, plus a TOTP or recovery code when two-factor is on."""

    email: LookupEmail
    password: Password
    otp: Otp | None = None


class RefreshRequest(_Input):
    """A refresh token to rotate or revoke."""

    refresh_token: OpaqueToken


class PasswordReset(_Input):
    """The token from a reset link and the new password."""

    token: OpaqueToken
    new_password: Password


class PasswordChange(_Input):
    """The current password and the new one."""

    current_password: Password
    new_password: Password


class UserUpdate(_Input):
    """Profile changes; a new email is confirmed before it replaces the old one."""

    full_name: FullName | None = None
    email: Email | None = None


class PasswordConfirm(_Input):
    """Account deletion needs the password."""

    password: Password


class OtpConfirm(_Input):
    """A TOTP code."""

    otp: Otp


class MfaDisable(_Input):
    """Turning two-factor off needs the password and a current code."""

    password: Password
    otp: Otp


class AdminUserCreate(_Input):
    """An account created by an admin (any role); it starts verified."""

    email: Email
    password: Password
    full_name: FullName
    role: Role = Role.customer


class AdminUserUpdate(_Input):
    """Role and activation, changed by an admin."""

    role: Role | None = None
    is_active: bool | None = None


class TokenPair(BaseModel):
    """What a successful sign-in or refresh returns."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class UserRead(BaseModel):
    """A user as the user sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: Role
    email_verified: bool
    pending_email: str | None
    mfa_enabled: bool
    is_active: bool
    created_at: datetime


class AdminUserRead(UserRead):
    """A user as an admin sees it."""

    updated_at: datetime
    deleted_at: datetime | None
    password_changed_at: datetime | None


class MfaSetup(BaseModel):
    """The secret to load into an authenticator app."""

    secret: str
    otpauth_uri: str
    qr_svg_data_uri: str


class RecoveryCodes(BaseModel):
    """One-time recovery codes, shown once."""

    recovery_codes: list[str]


class Accepted(BaseModel):
    """A 202 answer that reveals nothing."""

    detail: str


class ExportDocument(BaseModel):
    """Everything stored about the caller."""

    profile: AdminUserRead
    sections: dict[str, Any]
