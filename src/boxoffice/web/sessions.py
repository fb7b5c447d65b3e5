"""Page sessions: a signed, HttpOnly, SameSite=Lax cookie holding the user id, a CSRF token and flashes.

The cookie is an HMAC-signed JSON document. Revocation is server-side all the same: a page sign-in goes
through the accounts service like an API sign-in and opens a session there (a refresh-token family); the
cookie names that family, and the middleware refuses the cookie once the family is revoked (sign-out,
"sign out everywhere", password change elsewhere or reset, account disabled or deleted). Sign-in always
issues a fresh session id and CSRF token, so a session planted before sign-in is worthless (no fixation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

COOKIE_NAME = "bo_session"
MAX_AGE_SECONDS = 14 * 24 * 3600
MAX_FLASHES = 5


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(secret_key: str) -> bytes:
    """A key for page sessions only, derived from the app's secret."""
    return hashlib.sha256(b"boxoffice.web.session\x00" + secret_key.encode()).digest()


@dataclass
class WebSession:
    """The state of one browser's session; `dirty` means the cookie must be written again."""

    sid: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    uid: int | None = None
    family: str = ""  # the accounts session (refresh-token family) behind this page session
    refresh: str = ""  # its refresh token: what signing out of this one session revokes
    issued: int = field(default_factory=lambda: int(time.time()))
    flashes: list[tuple[str, str]] = field(default_factory=list)
    is_new: bool = True
    dirty: bool = False
    cleared: bool = False

    def csrf_token(self) -> str:
        """The token forms must send back; asking for it makes sure the cookie is set."""
        if self.is_new:
            self.dirty = True
        return self.csrf

    def flash(self, message: str, level: str = "info") -> None:
        """Queue a message for the next page shown."""
        self.flashes = [*self.flashes, (level, message)][-MAX_FLASHES:]
        self.dirty = True

    def pop_flashes(self) -> list[tuple[str, str]]:
        """The queued messages, now removed."""
        out, self.flashes = self.flashes, []
        if out:
            self.dirty = True
        return out

    def sign_in(self, *, user_id: int, family: str, refresh: str) -> None:
        """Become a fresh session for `user_id` (new id and CSRF token: no fixation)."""
        self.sid = secrets.token_urlsafe(16)
        self.csrf = secrets.token_urlsafe(32)
        self.uid = user_id
        self.family = family
        self.refresh = refresh
        self.issued = int(time.time())
        self.dirty = True
        self.cleared = False

    def sign_out(self) -> None:
        """Forget the user and start an anonymous session with a new id and token."""
        self.sid = secrets.token_urlsafe(16)
        self.csrf = secrets.token_urlsafe(32)
        self.uid = None
        self.family = ""
        self.refresh = ""
        self.dirty = True

    def dumps(self, key: bytes) -> str:
        """The signed cookie value."""
        payload: dict[str, Any] = {
            "s": self.sid,
            "c": self.csrf,
            "u": self.uid,
            "m": self.family,
            "r": self.refresh,
            "i": self.issued,
            "f": self.flashes,
        }
        body = _b64(orjson.dumps(payload))
        mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}"

    @classmethod
    def loads(cls, value: str, key: bytes, *, now: float | None = None) -> WebSession | None:
        """The session in a cookie value, or None when forged, malformed or too old."""
        body, _, mac = value.partition(".")
        if not body or not mac or len(value) > 4096:
            return None
        try:
            expected = hmac.new(key, body.encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(mac)):
                return None
            data = orjson.loads(_unb64(body))
            issued = int(data["i"])
            if (now or time.time()) - issued > MAX_AGE_SECONDS:
                return None
            uid = data.get("u")
            return cls(
                sid=str(data["s"]),
                csrf=str(data["c"]),
                uid=int(uid) if uid is not None else None,
                family=str(data.get("m", "")),
                refresh=str(data.get("r", "")),
                issued=issued,
                flashes=[(str(lv), str(msg)) for lv, msg in data.get("f", [])][-MAX_FLASHES:],
                is_new=False,
            )
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return None


def csrf_matches(session: WebSession, candidate: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return bool(candidate) and hmac.compare_digest(session.csrf.encode(), (candidate or "").encode())
