"""Password hashing (argon2id) and JWT access tokens: the cryptography of accounts in one place."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from boxoffice.config import Settings
from boxoffice.kit.clock import utc_now

JWT_ALGORITHM = "HS256"
_LEEWAY = 5  # seconds of clock skew tolerated
_SUB = re.compile(r"[0-9]{1,10}")
_MAX_ID = 2**31 - 1

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


async def hash_password_async(password: str) -> str:
    """`hash_password` in a worker thread: argon2 takes tens of milliseconds of CPU, the event loop
    keeps serving other requests meanwhile."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, password_hash: str | None) -> bool:
    """`verify_password` in a worker thread."""
    return await asyncio.to_thread(verify_password, password, password_hash)


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says."""

    user_id: int
    role: str
    jti: str
    issued_at: datetime
    session_id: str | None = None


def create_access_token(
    settings: Settings, *, user_id: int, role: str, session_id: str | None = None
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds; `session_id` names its refresh family."""
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
    if session_id is not None:
        payload["sid"] = session_id
    return jwt.encode(payload, settings.secret_key, algorithm=JWT_ALGORITHM), lifetime


@dataclass(frozen=True)
class _Verified:
    """What a correctly signed access token says, before its time claims are checked."""

    claims: AccessClaims
    exp: int
    nbf: int


@functools.lru_cache(maxsize=4096)
def _verify(secret: str, audience: str, issuer: str, token: str) -> _Verified | None:
    """Signature, algorithm, audience, issuer and shape of `token`; None when any is wrong.

    Cached: a client sends the same token for its whole lifetime, and checking the signature and parsing
    the claims is most of an authenticated request's cost outside the database. The cache key holds the
    secret, so a rotated secret never reuses an old verdict; time claims are checked on every use.
    """
    try:
        data = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            audience=audience,
            issuer=issuer,
            # Time claims are checked by decode_access_token against boxoffice's clock (injectable in tests).
            options={
                "require": ["sub", "exp", "iat", "jti", "iss", "aud"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError:
        return None
    sub = data.get("sub")
    if data.get("typ") != "access" or not isinstance(sub, str) or not _SUB.fullmatch(sub):
        return None
    if int(sub) > _MAX_ID:
        return None
    try:
        exp, iat, nbf = int(data["exp"]), int(data["iat"]), int(data.get("nbf", data["iat"]))
    except (TypeError, ValueError):
        return None
    claims = AccessClaims(
        user_id=int(sub),
        role=str(data.get("role", "")),
        jti=str(data["jti"]),
        issued_at=datetime.fromtimestamp(iat, tz=UTC),
        session_id=str(data["sid"]) if isinstance(data.get("sid"), str) else None,
    )
    return _Verified(claims=claims, exp=exp, nbf=nbf)


def decode_access_token(settings: Settings, token: str) -> AccessClaims | None:
    """The claims of a valid token, or None (forged, expired, wrong audience/issuer/algorithm)."""
    verified = _verify(settings.secret_key, settings.jwt_audience, settings.jwt_issuer, token)
    if verified is None:
        return None
    now = utc_now().timestamp()
    iat = verified.claims.issued_at.timestamp()
    if verified.exp <= now - _LEEWAY or iat > now + _LEEWAY or verified.nbf > now + _LEEWAY:
        return None
    return verified.claims


def keyed_hash(settings: Settings, value: str) -> str:
    """HMAC-SHA256 of `value` under the secret key (recovery codes: short secrets, keyed so a leaked
    table alone cannot be brute-forced)."""
    return hmac.new(settings.secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()
