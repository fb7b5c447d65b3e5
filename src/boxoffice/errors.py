"""Typed application errors: services raise these; one handler renders problem+json, another HTML."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An expected failure with a stable snake_case `code` and an HTTP status."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.title
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(AppError):
    """The request is well-formed but makes no sense (400)."""


class Unauthorized(AppError):
    """Missing, expired or invalid credentials (401)."""

    status = 401
    code = "not_authenticated"
    title = "Not authenticated"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class PaymentRequired(AppError):
    """A payment was refused (402)."""

    status = 402
    code = "payment_declined"
    title = "Payment declined"


class Forbidden(AppError):
    """Signed in but not allowed (403)."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    """Missing, or not the caller's to see (404)."""

    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    """The state of the resource forbids the change (409)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class Unprocessable(AppError):
    """Valid JSON that breaks a rule of the domain (422)."""

    status = 422
    code = "unprocessable"
    title = "Unprocessable"


class RateLimited(AppError):
    """Too many attempts (429) with Retry-After."""

    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message or "Too many attempts, try again later.")
        self.retry_after = max(1, int(retry_after))
        self.headers["Retry-After"] = str(self.retry_after)


class ServiceUnavailable(AppError):
    """A dependency (database, lock) is busy or down; retry later (503)."""

    status = 503
    code = "service_unavailable"
    title = "Service unavailable"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", "2")
