"""Public pages for moviegoers: home (now showing, coming soon, search), movie, cinema, seat selection."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from boxoffice.web.deps import PageUser
from boxoffice.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: PageUser) -> HTMLResponse:
    """Now showing and coming soon, with search and a cinema/date picker."""
    return render(request, "home.html", {"now_showing": [], "coming_soon": [], "cinemas": []})
