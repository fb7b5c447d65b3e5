"""The application core: health, readiness, metrics, problem+json errors, body limits, request ids."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import Request
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError

from boxoffice.config import ConfigError, Settings
from boxoffice.db import transaction
from boxoffice.main import create_app
from tests.conftest import make_settings


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "boxoffice_http_requests_total" in response.text


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404


async def test_request_id_is_echoed_and_generated(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 16


async def test_huge_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "boxoffice"


def test_production_refuses_missing_secret(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="BOXOFFICE_SECRET_KEY must be set"):
        Settings(env="production", secret_key="").resolve_secret_key()


def test_production_refuses_weak_secret() -> None:
    with pytest.raises(ConfigError, match="too weak"):
        Settings(env="production", secret_key="changeme").resolve_secret_key()


def test_development_secret_is_generated_once(tmp_path: object) -> None:
    from pathlib import Path

    settings = Settings(env="development", secret_key="", var_dir=Path(str(tmp_path)))
    first = settings.resolve_secret_key()
    assert len(first) >= 32
    assert settings.resolve_secret_key() == first
    assert (Path(str(tmp_path)) / "secret_key").stat().st_mode & 0o077 == 0


async def test_out_of_range_database_value_is_422_not_500(client: httpx.AsyncClient) -> None:
    # An id beyond the database's integer range must be refused as bad input on both backends.
    response = await client.get("/api/v1/showtimes/99999999999999999999/seats")
    assert response.status_code in (404, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_openapi_documents_problem_json_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            assert "4XX" in responses, (method, path)
            for status, response in responses.items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)


async def test_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_chunked_body_within_the_limit_reaches_the_route(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"email": "nobody@example.com",'
        yield b' "password": "not the right one at all"}'

    response = await client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


async def test_json_nested_beyond_the_parser_is_422(client: httpx.AsyncClient) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await client.post(
        "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_swagger_ui_is_served_without_a_cdn(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "/docs/oauth2-redirect" in page.text
    bundle = await client.get("/docs-assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000
    assert (await client.get("/docs-assets/swagger-ui.css")).status_code == 200
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200


def _wrapped_asyncpg_error(kind: type[Exception]) -> DBAPIError:
    """An asyncpg error as SQLAlchemy raises it: a plain DBAPIError whose `orig` carries the SQLSTATE."""
    error = kind("invalid text")
    adapted = AsyncAdapt_asyncpg_dbapi(asyncpg).Error("invalid text")
    # Set by SQLAlchemy when it translates a real asyncpg error (2.0 and 2.1 alike; 2.1 also takes it as
    # a constructor argument): what the handler reads.
    adapted.sqlstate = adapted.pgcode = error.sqlstate  # type: ignore[attr-defined]
    adapted.__cause__ = error
    return DBAPIError("SELECT :t", {}, adapted)


async def test_invalid_text_database_errors_are_422_invalid_value(
    db_url: str, backend: str, tmp_path: Path
) -> None:
    # asyncpg's data exceptions (SQLSTATE class 22) reach the handler as a plain DBAPIError, not a
    # DataError: each must answer 422 invalid_value (problem+json for the API, the page for pages).
    app = create_app(make_settings(db_url, tmp_path), run_background=False)
    kinds: dict[str, type[Exception]] = {
        "repertoire": asyncpg.CharacterNotInRepertoireError,
        "untranslatable": asyncpg.UntranslatableCharacterError,
        "representation": asyncpg.InvalidTextRepresentationError,
        "range": asyncpg.NumericValueOutOfRangeError,
    }

    async def synthetic(kind: str) -> None:
        raise _wrapped_asyncpg_error(kinds[kind])

    async def real(request: Request) -> dict[str, str | None]:
        async with transaction(request.app.state.sessionmaker, write=False) as session:
            value = await session.scalar(text("SELECT CAST(:t AS TEXT)"), {"t": "a\x00b"})
        return {"value": value}

    for prefix in ("/api/v1/probe", "/probe"):
        app.add_api_route(prefix + "/{kind}", synthetic)
        app.add_api_route(prefix + "-real", real)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for kind in kinds:
                api = await client.get(f"/api/v1/probe/{kind}")
                assert api.status_code == 422, (kind, api.text)
                assert api.headers["content-type"] == "application/problem+json"
                assert api.json()["code"] == "invalid_value"
                page = await client.get(f"/probe/{kind}")
                assert page.status_code == 422, (kind, page.text)
                assert page.headers["content-type"].startswith("text/html")
            # Any other database error stays a 500, and a page gets the friendly page, not JSON.
            kinds["other"] = asyncpg.FeatureNotSupportedError
            api = await client.get("/api/v1/probe/other")
            assert (api.status_code, api.json()["code"]) == (500, "internal_error")
            page = await client.get("/probe/other")
            assert page.status_code == 500
            assert page.headers["content-type"].startswith("text/html")
            # The real driver: PostgreSQL refuses NUL in text, SQLite stores it.
            expected = 422 if backend == "postgres" else 200
            for path in ("/api/v1/probe-real", "/probe-real"):
                assert (await client.get(path)).status_code == expected, path
    finally:
        await app.state.shutdown()
