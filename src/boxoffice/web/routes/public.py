"""Public pages for moviegoers: home (now showing, coming soon, search), movie, cinemas, seat selection."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from boxoffice.booking import presenters
from boxoffice.booking import service as booking_service
from boxoffice.catalog import service as catalog
from boxoffice.catalog.models import CreditRole, Movie
from boxoffice.deps import SessionDep
from boxoffice.errors import NotFound, Unauthorized
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes import seatmap
from boxoffice.showtimes import service as showtimes
from boxoffice.venues import service as venues
from boxoffice.web.deps import DbId, PageUser
from boxoffice.web.seats import build_grid
from boxoffice.web.templating import render

router = APIRouter()

SearchText = Annotated[str | None, Query(max_length=100)]
CinemaId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Day = Annotated[date | None, Query(alias="date")]


def poster_src(movie: Movie) -> str:
    """A poster served by this site: a local URL as given, else the generated SVG poster."""
    if movie.poster_url and movie.poster_url.startswith("/") and not movie.poster_url.startswith("//"):
        return movie.poster_url
    return f"/api/v1/movies/{movie.id}/poster.svg"


async def _all_cinemas(session: SessionDep) -> list[Any]:
    rows, _ = await venues.list_cinemas(session, city=None, owner_id=None, offset=0, limit=100)
    return [cinema for cinema, _count in rows]


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    session: SessionDep,
    user: PageUser,
    q: SearchText = None,
    cinema_id: CinemaId = None,
    day: Day = None,
) -> HTMLResponse:
    """Now showing and coming soon, with search and a cinema/date picker."""
    q = (q or "").strip() or None
    now_showing, _ = await catalog.list_movies(
        session,
        query=catalog.MovieListQuery(q=q, status="now_showing", cinema_id=cinema_id, day=day),
        sort="title",
        offset=0,
        limit=48,
    )
    coming_soon, _ = await catalog.list_movies(
        session,
        query=catalog.MovieListQuery(q=q, status="coming_soon"),
        sort="title",
        offset=0,
        limit=24,
    )
    today = utc_now().date()
    return render(
        request,
        "home.html",
        {
            "now_showing": [(m, poster_src(m)) for m, _s in now_showing],
            "coming_soon": [(m, poster_src(m)) for m, _s in coming_soon],
            "cinemas": await _all_cinemas(session),
            "q": q or "",
            "cinema_id": cinema_id,
            "day": day,
            "days": [today + timedelta(days=i) for i in range(7)],
        },
    )


@router.get("/movies/{movie_id}", response_class=HTMLResponse)
async def movie_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    movie_id: DbId,
    fmt: Annotated[str | None, Query(alias="format", max_length=32)] = None,
) -> HTMLResponse:
    """Poster, synopsis, cast and crew, trailer, and the showtimes by cinema, day and format."""
    movie = await catalog.get_movie(session, movie_id=movie_id, full=True)
    status = await catalog.status_of(session, movie=movie)
    by_cinema = await catalog.showtimes_by_cinema(session, movie_id=movie_id)
    formats = sorted({s.format for c in by_cinema for d in c.days for s in d.showtimes})
    if fmt:
        for cinema in by_cinema:
            for day_group in cinema.days:
                day_group.showtimes = [s for s in day_group.showtimes if s.format.lower() == fmt.lower()]
            cinema.days = [d for d in cinema.days if d.showtimes]
        by_cinema = [c for c in by_cinema if c.days]
    trailer = movie.trailer_url if movie.trailer_url and movie.trailer_url.startswith("https://") else None
    return render(
        request,
        "movie.html",
        {
            "movie": movie,
            "status": status,
            "poster": poster_src(movie),
            "cast": [c for c in movie.credits if c.role == CreditRole.actor],
            "crew": [c for c in movie.credits if c.role != CreditRole.actor],
            "cinemas": by_cinema,
            "formats": formats,
            "format": fmt,
            "trailer": trailer,
        },
    )


@router.get("/cinemas", response_class=HTMLResponse)
async def cinemas_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    """Every cinema, by city."""
    rows, _ = await venues.list_cinemas(session, city=None, owner_id=None, offset=0, limit=100)
    by_city: dict[str, list[Any]] = defaultdict(list)
    for cinema, screens in rows:
        by_city[cinema.city].append((cinema, screens))
    return render(request, "cinemas.html", {"by_city": sorted(by_city.items())})


@router.get("/cinemas/{cinema_id}", response_class=HTMLResponse)
async def cinema_page(
    request: Request, session: SessionDep, user: PageUser, cinema_id: DbId, day: Day = None
) -> HTMLResponse:
    """A cinema's showtimes of one local day (today by default), by movie."""
    cinema = await venues.get_cinema(session, cinema_id=cinema_id)
    tz = ZoneInfo(cinema.timezone)
    today = utc_now().astimezone(tz).date()
    chosen = day or today
    rows, _total, available = await showtimes.list_showtimes(
        session,
        cinema_id=cinema_id,
        movie_id=None,
        day=chosen,
        fmt=None,
        language=None,
        offset=0,
        limit=200,
    )
    by_movie: dict[tuple[int, str], list[Any]] = defaultdict(list)
    now = utc_now()
    for showtime, title, screen_name, _cinema_name, _tz in rows:
        if showtime.starts_at > now:
            by_movie[(showtime.movie_id, title)].append(
                (showtime, screen_name, available.get(showtime.id, 0))
            )
    return render(
        request,
        "cinema.html",
        {
            "cinema": cinema,
            "day": chosen,
            "days": [today + timedelta(days=i) for i in range(7)],
            "by_movie": sorted(by_movie.items(), key=lambda item: item[0][1]),
        },
    )


@router.get("/showtimes/{showtime_id}", response_class=HTMLResponse)
async def seat_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    showtime_id: DbId,
    change: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9]+$")] = None,
    picked: Annotated[str | None, Query(alias="seats", max_length=800, pattern=r"^[0-9,]*$")] = None,
) -> HTMLResponse:
    """The seat map: pick seats (mouse or keyboard), best available, running total; live via SSE.

    With `?change=REF` (the caller's confirmed booking for this showtime) the picked seats go to the review
    of the change (`/bookings/REF/change`); `&seats=ID,ID` starts with those picked (back from the review).
    """
    ctx = await showtimes.load_showtime_context(session, showtime_id=showtime_id)
    changing = None
    change_seats = ""
    if change is not None:
        if user is None:
            raise Unauthorized("Sign in to change your seats.", code="not_authenticated")
        booking = await booking_service.get_own_booking(session, user=user, reference=change)
        if booking.showtime_id != showtime_id:
            raise NotFound("No such booking.", code="booking_not_found")
        changing = booking.reference
        read = await presenters.booking_read(session, booking)
        change_seats = ",".join(str(seat.seat_id) for seat in read.seats)
    answer = await seatmap.build_seat_map(session, showtime_id=showtime_id, user_id=user.id if user else None)
    assert answer is not None
    seats = answer.body["seats"]
    grid = build_grid(seats)
    prices = dict(sorted(ctx.showtime.prices.items(), key=lambda kv: kv[1]))
    present_types = {s["type"] for s in seats}
    return render(
        request,
        "seats.html",
        {
            "ctx": ctx,
            "showtime": ctx.showtime,
            "movie": ctx.movie,
            "cinema": ctx.cinema,
            "screen": ctx.screen,
            "grid": grid,
            "counts": answer.body["counts"],
            "prices": [(t, p) for t, p in prices.items() if t in present_types],
            "currency": ctx.showtime.currency,
            "on_sale": ctx.showtime.status.value == "scheduled" and ctx.showtime.sales_close_at > utc_now(),
            "max_seats": request.app.state.settings.max_seats_per_booking,
            "changing": changing,
            "change_seats": change_seats,
            "picked_seats": picked or "",
        },
    )
