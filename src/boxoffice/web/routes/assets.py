"""Static assets (CSS, JS, SVG icons) served by the app itself: no CDN, works offline."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from boxoffice.errors import NotFound
from boxoffice.web.templating import STATIC_DIR

router = APIRouter()

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


@router.get("/static/{path:path}")
async def static_file(path: str) -> FileResponse:
    """One file from web/static, never outside it."""
    root = STATIC_DIR.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file() or target.suffix not in _TYPES:
        raise NotFound("No such file.", code="not_found")
    return FileResponse(
        target, media_type=_TYPES[target.suffix], headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The site icon."""
    return FileResponse(STATIC_DIR / "img" / "logo.svg", media_type="image/svg+xml")
