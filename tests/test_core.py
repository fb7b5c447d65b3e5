"""The application core: health, readiness, metrics, problem+json errors, body limits, request ids."""

from __future__ import annotations

import httpx
import pytest

from boxoffice.config import ConfigError, Settings


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
