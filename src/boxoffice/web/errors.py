"""Friendly HTML error pages for page routes (the API keeps problem+json); 401 on a page means "sign in"."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from boxoffice.web.middleware import PAGE_HEADERS
from boxoffice.web.templating import render, web_session

_NOT_PAGES = ("/api/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc", "/static/")
_TITLES = {
    400: "That did not work",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "That changed meanwhile",
    413: "Too large",
    422: "Please check the form",
    429: "Slow down a little",
    503: "Busy right now",
}


def safe_next(target: str | None, default: str = "/") -> str:
    """A local redirect target: a path on this site, never `//host`, a scheme or a backslash trick."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 32 for ch in target) or ":" in target.split("?", 1)[0]:
        return default
    return target


class HtmlErrorRenderer:
    """What `problems.py` calls for page requests: decides when HTML is wanted and renders it."""

    def wants_html(self, request: Request) -> bool:
        """Page routes get HTML; the API, operations endpoints and assets keep their formats."""
        return not request.url.path.startswith(_NOT_PAGES) and request.url.path not in ("/healthz", "/readyz")

    def render(self, request: Request, status: int, code: str, message: str) -> Response:
        """A redirect to sign-in for 401, else the friendly error page with the status."""
        if status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            web_session(request).flash(message or "Please sign in to continue.", "info")
            return RedirectResponse(f"/login?next={quote(safe_next(target))}", status_code=303)
        if status == 403 and code == "csrf_failed":
            message = "Your form expired. Please go back, reload the page and try again."
        response = render(
            request,
            "error.html",
            {
                "status": status,
                "title": _TITLES.get(status, "Something went wrong"),
                "message": message,
                "code": code,
            },
            status=status,
        )
        # The page headers here too: an error page may be answered before the page middleware runs
        # (the edge refuses a NUL in the address: boxoffice.middleware), which would add them otherwise.
        for name, value in PAGE_HEADERS:
            response.headers.setdefault(name.decode(), value.decode())
        response.headers.setdefault("cache-control", "no-store")
        return response
