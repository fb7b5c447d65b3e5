"""The application factory: settings, database, middleware, routers, error handlers, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from boxoffice import __version__
from boxoffice.apidocs import install_api_docs
from boxoffice.config import ConfigError, Settings, get_settings
from boxoffice.db import create_engine, create_sessionmaker
from boxoffice.kit.events import create_event_bus
from boxoffice.kit.logs import configure_logging
from boxoffice.kit.ratelimit import build_rate_limiter
from boxoffice.middleware import RequestContextMiddleware, RequestLimitsMiddleware
from boxoffice.problems import document_problems, register_error_handlers

if TYPE_CHECKING:
    from boxoffice.payments.providers import PaymentProvider

log = logging.getLogger("boxoffice")

API_PREFIX = "/api/v1"

OPENAPI_TAGS = [
    {"name": "accounts", "description": "Registration, sign-in, tokens, profile, two-factor."},
    {"name": "admin", "description": "Users and roles, the audit log (admins)."},
    {"name": "catalog", "description": "Movies, people, genres."},
    {"name": "venues", "description": "Cinemas, screens and seat layouts."},
    {"name": "showtimes", "description": "Showtimes, seat maps, best available seats, live seat events."},
    {"name": "booking", "description": "Holds, payments, tickets, changes, cancellations, check-in."},
    {"name": "payments", "description": "Payment provider webhooks."},
    {"name": "analytics", "description": "Occupancy and revenue."},
    {"name": "operations", "description": "Health, readiness, metrics."},
]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    from boxoffice.background import start_background_tasks, stop_background_tasks

    tasks = start_background_tasks(app) if app.state.run_background else []
    log.info("boxoffice %s ready (%s)", __version__, app.state.settings.env)
    try:
        yield
    finally:
        await stop_background_tasks(tasks)  # and the email render process, wherever it was started
        await app.state.shutdown()


def _include_routers(app: FastAPI) -> None:
    from boxoffice import health
    from boxoffice.accounts import admin_api as accounts_admin_api
    from boxoffice.accounts import api as accounts_api
    from boxoffice.audit import api as audit_api

    app.include_router(health.router)
    from boxoffice.catalog import api as catalog_api
    from boxoffice.showtimes import api as showtimes_api
    from boxoffice.venues import api as venues_api

    # Routes are matched in order: the hottest paths (seat map, listing, holds) first (docs/performance.md).
    for router in (showtimes_api.router, catalog_api.router, venues_api.router):
        app.include_router(router, prefix=API_PREFIX)
    from boxoffice.booking import api as booking_api
    from boxoffice.booking import cart_api, checkin_api, events_api, manage_api, payment_events
    from boxoffice.payments import api as payments_api

    payment_events.register()
    for module in (booking_api, cart_api, checkin_api, events_api, manage_api, payments_api):
        app.include_router(module.router, prefix=API_PREFIX)
    for router in (accounts_api.router, accounts_admin_api.router, audit_api.router):
        app.include_router(router, prefix=API_PREFIX)
    from boxoffice.analytics import api as analytics_api
    from boxoffice.web import install as install_web

    app.include_router(analytics_api.router, prefix=API_PREFIX)
    install_web(app)  # the pages at the root, their session/CSRF/CSP middleware and HTML error pages


def _document_problems(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build_payment_provider(settings: Settings) -> PaymentProvider:
    """The configured payment provider, or a ConfigError saying what is missing (checked at start-up)."""
    from boxoffice.payments.providers import ProviderError, get_provider

    try:
        return get_provider(settings)
    except (ProviderError, ImportError) as exc:  # e.g. stripe without a secret key, or httpx not installed
        raise ConfigError(
            f"The payment provider cannot be built (BOXOFFICE_PAYMENT_PROVIDER={settings.payment_provider}): "
            f"{exc}."
        ) from exc


def create_app(settings: Settings | None = None, *, run_background: bool = True) -> FastAPI:
    """Build the boxoffice ASGI app for `settings` (the environment's by default)."""
    settings = settings or get_settings()
    configure_logging(json=settings.is_production, level=settings.log_level)
    settings.secret_key = settings.resolve_secret_key()
    # Built here, not at the first payment: a misconfigured provider stops the server before it listens.
    provider = build_payment_provider(settings)

    app = FastAPI(
        title="boxoffice",
        version=__version__,
        description="Movie-ticket booking: catalogue, live seat maps, holds, payments and signed e-tickets.",
        lifespan=_lifespan,
        openapi_tags=OPENAPI_TAGS,
        docs_url=None,  # served from the app's own files by install_api_docs (no CDN)
        redoc_url=None,
    )
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.run_background = run_background
    app.state.payment_provider = provider
    app.state.events = create_event_bus(database_url=settings.database_url, redis_url=settings.redis_url)
    app.state.rate_limiter = build_rate_limiter(settings.redis_url)
    app.state.test_reset_hooks = [*getattr(app.state, "test_reset_hooks", []), app.state.rate_limiter.reset]

    async def shutdown() -> None:
        from boxoffice.accounts.deferred import wait_deferred

        await wait_deferred()  # reset / verification emails queued after their answer
        await app.state.events.close()
        await engine.dispose()

    app.state.shutdown = shutdown
    _include_routers(app)
    install_api_docs(app)  # after the API: routes are matched in order, and the docs are rarely asked for
    register_error_handlers(app)
    _document_problems(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(  # outermost: refused before anything else runs
        RequestLimitsMiddleware,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        allowed_hosts=settings.allowed_host_list,
    )
    return app
