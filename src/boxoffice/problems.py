"""Render every error as RFC 9457 problem+json with a stable `code` (HTML pages get their own renderer)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from boxoffice.errors import AppError, Conflict, ServiceUnavailable, Unprocessable
from boxoffice.kit.logs import request_id_var

log = logging.getLogger("boxoffice.errors")

PROBLEM_JSON = "application/problem+json"
_BODY_PARSE_ERROR = "There was an error parsing the body"

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details) with the stable `code` clients switch on."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable snake_case error code, e.g. seats_unavailable.")
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = Field(default=None, description="422 only: [{loc, msg, type}].")


_CLIENT_ERROR = "A client error: problem+json with a stable `code` (401, 403, 404, 409, 413, 422, 429, ...)."


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the API really answers on errors: problem+json everywhere.

    Every API operation gets its error statuses (and a catch-all `4XX` and `503`) described with the
    `Problem` schema under `application/problem+json`, replacing FastAPI's default 422 body, which this
    API never sends.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema()
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = content
                    if status == "422":
                        response["description"] = "Invalid input: `errors` names each field."
            responses.setdefault("4XX", {"description": _CLIENT_ERROR, "content": content})
            responses.setdefault(
                "503", {"description": "Database busy or unavailable: retry.", "content": content}
            )
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def problem(
    status: int, code: str, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://boxoffice.dev/problems/{code}" if code else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    body.update(extra)
    return Response(
        orjson.dumps(body, default=str), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _loc(loc: Any) -> list[str | int]:
    return [p if isinstance(p, int | str) else str(p) for p in loc]


def error_response(request: Request, exc: AppError) -> Response:
    """The answer to `exc`: the friendly HTML page for a page request, else problem+json."""
    renderer = getattr(request.app.state, "html_error_renderer", None)
    if renderer is not None and renderer.wants_html(request):
        html: Response = renderer.render(request, exc.status, exc.code, exc.message)
        return html
    return problem(exc.status, exc.code, exc.title, exc.message, headers=exc.headers, **exc.extra)


def _is_invalid_value(exc: BaseException) -> bool:
    """A value the database cannot store or compare: SQLSTATE class 22 ("data exception").

    That covers every invalid-text error (NUL: asyncpg's CharacterNotInRepertoireError 22021, an
    untranslatable character 22P05, an invalid byte sequence, bad text for a type 22P02) and numbers
    out of range. SQLAlchemy raises DataError for them only when the driver says so; asyncpg's errors
    arrive as a plain DBAPIError carrying the SQLSTATE."""
    if isinstance(exc, DataError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("22")


def _classify_db_error(exc: Exception) -> AppError:
    if isinstance(exc, OverflowError) or _is_invalid_value(exc):
        return Unprocessable("A value is out of range or not storable.", code="invalid_value")
    if isinstance(exc, IntegrityError):
        return Conflict("The change conflicts with existing data.", code="conflict")
    return ServiceUnavailable(
        "The database is unavailable right now; please retry.", code="database_unavailable"
    )


def _internal_error() -> AppError:
    error = AppError("Something went wrong on our side.", code="internal_error", status=500)
    error.title = "Internal error"
    return error


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        text = str(exc.orig).lower()
        needles = (
            "connection",
            "database is locked",
            "lock timeout",
            "canceling statement",
            "the database system is",
            "terminating",
            "readonly",
            "read-only",
            "disk",
            "deadlock",
        )
        return any(n in text for n in needles)
    return False


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers: AppError, validation, HTTP, database and the last-resort 500."""

    @app.exception_handler(AppError)
    async def _on_app_error(request: Request, exc: AppError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _on_validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
        renderer = getattr(request.app.state, "html_error_renderer", None)
        if renderer is not None and renderer.wants_html(request):
            html: Response = renderer.render(request, 422, "validation_error", f"Please check: {fields}")
            return html
        return problem(422, "validation_error", "Invalid input", f"Invalid input: {fields}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == _BODY_PARSE_ERROR:
            # FastAPI's answer when the JSON parser itself gives up (e.g. nesting deeper than its recursion
            # limit): the body is unprocessable input, like any other malformed JSON (422).
            return error_response(
                request, Unprocessable("The JSON body could not be parsed.", code="invalid_json")
            )
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        err = AppError(str(exc.detail), code=code, status=exc.status_code, headers=dict(exc.headers or {}))
        err.title = str(exc.detail)
        return error_response(request, err)

    @app.exception_handler(DBAPIError)
    async def _on_db(request: Request, exc: DBAPIError) -> Response:
        if isinstance(exc, IntegrityError) or _is_invalid_value(exc) or _is_unavailable(exc):
            log.warning("database error: %s", exc.orig)
            return error_response(request, _classify_db_error(exc))
        log.exception("unexpected database error")
        return error_response(request, _internal_error())  # a page gets the friendly page, not JSON

    async def _on_unavailable(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OverflowError):
            return error_response(request, _classify_db_error(exc))
        log.warning("dependency unavailable: %r", exc)
        return error_response(
            request,
            ServiceUnavailable(
                "The database is unavailable right now; please retry.", code="database_unavailable"
            ),
        )

    # Registered by class (not only through the catch-all below) so that they are handled inside the app:
    # the catch-all runs in ServerErrorMiddleware, which re-raises after answering and drops the connection.
    for kind in (OSError, PoolTimeout, OverflowError):
        app.add_exception_handler(kind, _on_unavailable)

    @app.exception_handler(Exception)
    async def _on_any(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OverflowError) or _is_unavailable(exc):
            log.warning("dependency unavailable: %r", exc)
            return error_response(request, _classify_db_error(exc))
        log.exception("unhandled error")
        return problem(500, "internal_error", "Internal error", "Something went wrong on our side.")
