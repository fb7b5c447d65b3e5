"""The HTML pages: server-rendered Jinja2 templates calling the same services as the JSON API."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the pages at the root, the session/CSRF/CSP middleware and the HTML error pages."""
    from boxoffice.web.errors import HtmlErrorRenderer
    from boxoffice.web.middleware import WebSessionMiddleware
    from boxoffice.web.router import router

    app.include_router(router)
    app.state.html_error_renderer = HtmlErrorRenderer()
    app.add_middleware(WebSessionMiddleware)
