"""Password hashing (argon2id) and JWT access tokens: the cryptography of accounts in one place."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from boxoffice.config import Settings
from boxoffice.kit.clock import utc_now

JWT_ALGORITHM = "HS256"

_hasher = PasswordHash((Argon2Hasher(),))
# A real hash to compare against when the account does not exist, so that timing reveals nothing.
_DUMMY_HASH = _hasher.hash("boxoffice-timing-equaliser-not-a-password")


def hash_password(password: str) -> str:
    """argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; spends the same time when there is no hash to check."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:
        return False


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says."""

    user_id: int
    role: str
    jti: str
    issued_at: datetime


def create_access_token(settings: Settings, *, user_id: int, role: str) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    now = utc_now()
    lifetime = settings.access_token_minutes * 60
    payload = {
        "sub": str(user_id),
        "role": role,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
        "jti": uuid.uuid4().hex,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "typ": "access",
    }
    return jwt.encode(payload, settings.secret_key, algorithm=JWT_ALGORITHM), lifetime


def decode_access_token(settings: Settings, token: str) -> AccessClaims | None:
    """The claims of a valid token, or None (forged, expired, wrong audience/issuer/algorithm)."""
    try:
        data = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[JWT_ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp", "iat", "jti", "iss", "aud"]},
            leeway=5,
        )
    except jwt.PyJWTError:
        return None
    if data.get("typ") != "access" or not str(data.get("sub", "")).isdigit():
        return None
    return AccessClaims(
        user_id=int(data["sub"]),
        role=str(data.get("role", "")),
        jti=str(data["jti"]),
        issued_at=datetime.fromtimestamp(int(data["iat"]), tz=utc_now().tzinfo),
    )
