"""Back office: cinemas, screens (layout editor with live preview) and showtimes (timeline with clashes)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from boxoffice.accounts import admin_service
from boxoffice.accounts.models import Role, User
from boxoffice.booking import cancellation
from boxoffice.booking.deps import ContextDep
from boxoffice.catalog import service as catalog
from boxoffice.deps import SessionDep, SettingsDep
from boxoffice.errors import AppError, NotFound
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes import service as showtimes
from boxoffice.showtimes.schemas import ShowtimeCreate
from boxoffice.venues import service as venues
from boxoffice.venues.layout import parse_layout
from boxoffice.venues.models import Cinema, SeatType
from boxoffice.venues.schemas import CinemaCreate, ScreenCreate
from boxoffice.web.charts import timeline_svg
from boxoffice.web.deps import DbId, StaffPageUser
from boxoffice.web.forms import FormError, parse
from boxoffice.web.pages import see_other
from boxoffice.web.routes.backoffice import staff_cinemas
from boxoffice.web.seats import build_grid
from boxoffice.web.templating import money, render, web_session

router = APIRouter(prefix="/backoffice")

Text = Annotated[str, Form(max_length=300)]
SEAT_TYPES = [t.value for t in SeatType]


def layout_preview(rows: list[str]) -> tuple[list[Any], str | None]:
    """The seat grid a layout makes, or the layout's error."""
    try:
        specs = parse_layout(rows)
    except AppError as exc:
        return [], exc.message
    seats = [
        {"seat_id": 0, "row": s.row, "number": s.number, "x": s.x, "y": s.y, "type": s.type.value}
        for s in specs
    ]
    return build_grid(seats), None


async def _owners(session: SessionDep, user: User) -> list[User]:
    if user.role != Role.admin:
        return []
    rows, _ = await admin_service.list_users(session, q=None, role=Role.owner, offset=0, limit=100)
    return list(rows)


@router.get("/cinemas", response_class=HTMLResponse)
async def cinemas_page(request: Request, session: SessionDep, user: StaffPageUser) -> HTMLResponse:
    """The cinemas the caller manages, their screens, and a form to add a cinema."""
    cinemas = await staff_cinemas(session, user)
    screens = {c.id: await venues.list_screens(session, cinema_id=c.id) for c in cinemas}
    return render(
        request,
        "backoffice/cinemas.html",
        {
            "cinemas": cinemas,
            "screens": screens,
            "owners": await _owners(session, user),
            "section": "cinemas",
        },
    )


@router.post("/cinemas", response_class=HTMLResponse)
async def cinema_create(
    request: Request,
    session: SessionDep,
    user: StaffPageUser,
    name: Text,
    city: Text,
    timezone: Annotated[str, Form(max_length=64)],
    address: Text = "",
    owner_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Add a cinema (owners own what they add; admins may name the owner)."""
    try:
        data = parse(
            CinemaCreate,
            name=name,
            city=city,
            timezone=timezone,
            address=address,
            owner_id=owner_id if user.role == Role.admin else "",
        )
        cinema = await venues.create_cinema(session, data=data, actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
            await session.refresh(user)
        web_session(request).flash(exc.message, "error")
        return see_other("/backoffice/cinemas")
    web_session(request).flash(f"Cinema {cinema.name} added.", "success")
    return see_other(f"/backoffice/cinemas/{cinema.id}/screens/new")


@router.get("/cinemas/{cinema_id}/screens/new", response_class=HTMLResponse)
async def screen_form(
    request: Request, session: SessionDep, user: StaffPageUser, cinema_id: DbId
) -> HTMLResponse:
    """The layout editor: rows of letters with a live preview of the seat map."""
    cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    layout = ["__AAAAAA__", "AAAAAAAAAA", "PPPPPPPPPP", "WC_AAAA_CW"]
    grid, error = layout_preview(layout)
    return render(
        request,
        "backoffice/screen_form.html",
        {
            "cinema": cinema,
            "name": "",
            "layout": "\n".join(layout),
            "grid": grid,
            "error": error,
            "formats": "2D",
            "section": "cinemas",
        },
    )


@router.post("/cinemas/{cinema_id}/screens", response_class=HTMLResponse)
async def screen_create(
    request: Request,
    session: SessionDep,
    user: StaffPageUser,
    cinema_id: DbId,
    name: Annotated[str, Form(max_length=100)],
    layout: Annotated[str, Form(max_length=8000)],
    formats: Annotated[str, Form(max_length=200)] = "2D",
) -> Response:
    """Create the screen and its seats from the layout."""
    cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    rows = [line.rstrip() for line in layout.replace("\r", "").split("\n") if line.strip()]
    format_list = [f.strip() for f in formats.replace(";", ",").split(",") if f.strip()]
    try:
        data = parse(ScreenCreate, name=name, layout=rows, formats=format_list or ["2D"])
        screen = await venues.create_screen(session, cinema=cinema, data=data, actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
            await session.refresh(user)
            cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
        grid, _ = layout_preview(rows)
        return render(
            request,
            "backoffice/screen_form.html",
            {
                "cinema": cinema,
                "name": name,
                "layout": "\n".join(rows),
                "grid": grid,
                "error": exc.message,
                "formats": formats,
                "section": "cinemas",
            },
            status=422 if isinstance(exc, FormError) else exc.status,
        )
    web_session(request).flash(f"Screen {screen.name} added with {screen.seat_count} seats.", "success")
    return see_other(f"/backoffice/showtimes?cinema_id={cinema.id}")


def _local_day(cinema: Cinema, day: date | None) -> date:
    return day or utc_now().astimezone(ZoneInfo(cinema.timezone)).date()


async def _timeline_context(
    session: SessionDep, user: User, cinema: Cinema, day: date, proposed: dict[str, Any] | None = None
) -> dict[str, Any]:
    screens = await venues.list_screens(session, cinema_id=cinema.id)
    rows, _total, available = await showtimes.list_showtimes(
        session, cinema_id=cinema.id, movie_id=None, day=day, fmt=None, language=None, offset=0, limit=300
    )
    items: list[dict[str, Any]] = [
        {
            "screen": screen_name,
            "start": showtime.starts_at,
            "end": showtime.ends_at,
            "label": title,
            "href": f"/showtimes/{showtime.id}",
            "free": available.get(showtime.id, 0),
            "id": showtime.id,
        }
        for showtime, title, screen_name, _cinema_name, _tz in rows
    ]
    if proposed:
        items.append(proposed)
    tz = ZoneInfo(cinema.timezone)
    # A cinema's day: from 08:00 to 02:00 the next morning, widened to show anything outside it.
    start = datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=8)
    end = start + timedelta(hours=18)
    if items:
        start = min(start, *(it["start"] for it in items))
        end = max(end, *(it["end"] for it in items))
    movies, _ = await catalog.list_movies(
        session, query=catalog.MovieListQuery(), sort="title", offset=0, limit=100
    )
    return {
        "cinema": cinema,
        "day": day,
        "screens": screens,
        "timeline": timeline_svg(
            [s.name for s in screens], items, start=start, end=start + timedelta(days=1), tz=tz
        ),
        "items": items,
        "movies": [m for m, _status in movies],
        "seat_types": SEAT_TYPES,
        "cinemas": await staff_cinemas(session, user),
        "section": "showtimes",
    }


@router.get("/showtimes", response_class=HTMLResponse)
async def showtimes_page(
    request: Request,
    session: SessionDep,
    user: StaffPageUser,
    cinema_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> HTMLResponse:
    """A timeline per screen for one day (clashes in red), and the form to schedule a showtime."""
    if cinema_id is None:
        cinemas = await staff_cinemas(session, user)
        if not cinemas:
            return render(request, "backoffice/no_cinema.html", {"section": "showtimes"})
        cinema = cinemas[0]
    else:
        cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    context = await _timeline_context(session, user, cinema, _local_day(cinema, day))
    return render(request, "backoffice/showtimes.html", context)


def _cents(value: str) -> int | None:
    text = value.strip().replace(",", ".")
    if not text:
        return None
    try:
        whole, _, frac = text.partition(".")
        return int(whole or "0") * 100 + int((frac + "00")[:2])
    except ValueError as exc:
        raise FormError(f"{value!r} is not a price.") from exc


@router.post("/showtimes", response_class=HTMLResponse)
async def showtime_create(
    request: Request, session: SessionDep, settings: SettingsDep, user: StaffPageUser
) -> Response:
    """Schedule a showtime; a clash shows on the timeline in red with the reason."""
    form = await request.form()
    values = {k: str(v)[:100] for k, v in form.items() if isinstance(v, str)}
    cinema = await venues.get_cinema_for_staff(session, cinema_id=_int(values.get("cinema_id")), user=user)
    cinema_id = cinema.id
    tz = ZoneInfo(cinema.timezone)
    day = _local_day(cinema, None)
    proposed = None
    try:
        try:
            day = date.fromisoformat(values.get("date", ""))
            hh, mm = (int(p) for p in values.get("time", "").split(":")[:2])
            starts = datetime.combine(day, datetime.min.time(), tz).replace(hour=hh, minute=mm)
        except ValueError as exc:
            raise FormError("Give the day and the start time.") from exc
        prices = {t: c for t in SEAT_TYPES if (c := _cents(values.get(f"price_{t}", ""))) is not None}
        data = parse(
            ShowtimeCreate,
            movie_id=values.get("movie_id", ""),
            screen_id=values.get("screen_id", ""),
            starts_at=starts,
            format=values.get("format", "2D") or "2D",
            prices=prices,
            currency=(values.get("currency") or "EUR").upper(),
        )
        screen, screen_cinema = await venues.get_screen_for_staff(
            session, screen_id=data.screen_id, user=user
        )
        if screen_cinema.id != cinema.id:
            raise NotFound("No such screen.", code="screen_not_found")
        movie = await catalog.get_movie(session, movie_id=data.movie_id)
        length = timedelta(minutes=movie.runtime_minutes + cinema.cleaning_minutes)
        proposed = {
            "screen": screen.name,
            "start": starts,
            "end": starts + length,
            "label": "Proposed: " + movie.title,
            "href": "",
        }
        created = await showtimes.create_showtime(
            session, data=data, actor=user, default_sales_close_minutes=settings.sales_close_minutes
        )
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
            await session.refresh(user)
            cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
        context = await _timeline_context(
            session, user, cinema, day, proposed if getattr(exc, "code", "") == "screen_busy" else None
        )
        context["error"] = exc.message
        context["form"] = values
        return render(
            request,
            "backoffice/showtimes.html",
            context,
            status=422 if isinstance(exc, FormError) else exc.status,
        )
    web_session(request).flash(f"{created.movie.title} scheduled on {created.screen.name}.", "success")
    return see_other(f"/backoffice/showtimes?cinema_id={cinema.id}&date={day.isoformat()}")


def _int(value: str | None) -> int:
    try:
        number = int(value or "")
    except ValueError:
        number = 0
    if not 0 < number < 2**31:
        raise NotFound("No such cinema.", code="cinema_not_found")
    return number


@router.post("/showtimes/{showtime_id}/cancel", response_class=HTMLResponse)
async def showtime_cancel(
    request: Request, session: SessionDep, ctx: ContextDep, user: StaffPageUser, showtime_id: DbId
) -> Response:
    """Cancel a showtime: every buyer is refunded in full and emailed, holds are released."""
    showtime = await showtimes.get_showtime_for_staff(session, showtime_id=showtime_id, user=user)
    cinema_id, starts_at = showtime.cinema_id, showtime.starts_at
    try:
        done = await cancellation.cancel_showtime(session, ctx=ctx, actor=user, showtime_id=showtime_id)
    except AppError as exc:
        await session.rollback()
        web_session(request).flash(exc.message, "error")
        return see_other(f"/backoffice/showtimes?cinema_id={cinema_id}")
    cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    day = starts_at.astimezone(ZoneInfo(cinema.timezone)).date()
    web_session(request).flash(
        f"Showtime cancelled: {done.bookings_refunded} booking(s) refunded "
        f"({money(done.refunded_total, showtime.currency)}), {done.bookings_cancelled} hold(s) released.",
        "success",
    )
    return see_other(f"/backoffice/showtimes?cinema_id={cinema_id}&date={day.isoformat()}")
