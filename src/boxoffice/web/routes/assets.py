"""Static assets (CSS, JS, SVG icons) served by the app itself: no CDN, works offline."""

from __future__ import annotations

from pathlib import Path

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
    target = _static_target(path)
    if target is None:
        raise NotFound("No such file.", code="not_found")
    return FileResponse(
        target, media_type=_TYPES[target.suffix], headers={"Cache-Control": "public, max-age=86400"}
    )


def _static_target(path: str) -> Path | None:
    """The file `path` names under web/static, or None for anything unsafe or missing.

    The file system refuses some names outright (a NUL byte: ValueError; a name too long: OSError):
    those name no file either."""
    if "\x00" in path:
        return None
    root = STATIC_DIR.resolve()
    try:
        target = (root / path).resolve()
        if not target.is_relative_to(root) or target.suffix not in _TYPES or not target.is_file():
            return None
    except (OSError, ValueError):
        return None
    return target


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The site icon."""
    return FileResponse(STATIC_DIR / "img" / "logo.svg", media_type="image/svg+xml")
