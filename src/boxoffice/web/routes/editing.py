"""Back office: edit and delete cinemas, screens and showtimes (prefilled forms, a confirmation page)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from boxoffice.accounts.models import Role, User
from boxoffice.deps import SessionDep
from boxoffice.errors import AppError
from boxoffice.showtimes import service as showtimes
from boxoffice.showtimes.schemas import ShowtimeUpdate
from boxoffice.venues import service as venues
from boxoffice.venues.models import Cinema, Screen
from boxoffice.venues.schemas import CinemaUpdate, ScreenUpdate
from boxoffice.web.deps import DbId, StaffPageUser
from boxoffice.web.forms import FormError, parse
from boxoffice.web.pages import confirm_page, delete_then_redirect, see_other
from boxoffice.web.routes.manage import SEAT_TYPES, _cents, _owners, layout_preview
from boxoffice.web.templating import render, web_session

router = APIRouter(prefix="/backoffice")

Text = Annotated[str, Form(max_length=300)]


async def _cinema_form(
    request: Request,
    session: SessionDep,
    user: User,
    cinema: Cinema,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    values = form or {
        "name": cinema.name,
        "address": cinema.address or "",
        "city": cinema.city,
        "timezone": cinema.timezone,
        "cleaning_minutes": str(cinema.cleaning_minutes),
        "owner_id": str(cinema.owner_id or ""),
    }
    return render(
        request,
        "backoffice/cinema_edit.html",
        {
            "cinema": cinema,
            "form": values,
            "owners": await _owners(session, user),
            "error": error,
            "section": "cinemas",
        },
        status=status,
    )


@router.get("/cinemas/{cinema_id}/edit", response_class=HTMLResponse)
async def cinema_edit_form(
    request: Request, session: SessionDep, user: StaffPageUser, cinema_id: DbId
) -> HTMLResponse:
    """The cinema's details in a prefilled form."""
    cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    return await _cinema_form(request, session, user, cinema)


@router.post("/cinemas/{cinema_id}/edit", response_class=HTMLResponse)
async def cinema_edit(
    request: Request,
    session: SessionDep,
    user: StaffPageUser,
    cinema_id: DbId,
    name: Text,
    city: Text,
    timezone: Annotated[str, Form(max_length=64)],
    address: Text = "",
    cleaning_minutes: Annotated[str, Form(max_length=6)] = "",
    owner_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Save the cinema's changes (only an admin may hand it to another owner)."""
    cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    form = {
        "name": name,
        "address": address,
        "city": city,
        "timezone": timezone,
        "cleaning_minutes": cleaning_minutes,
        "owner_id": owner_id,
    }
    try:
        changes: dict[str, Any] = {**form, "owner_id": ""}
        if user.role == Role.admin and owner_id and owner_id != str(cinema.owner_id or ""):
            changes["owner_id"] = owner_id
        data = parse(CinemaUpdate, **changes)
        if address == "" and cinema.address:
            data.address = ""
        await venues.update_cinema(session, cinema=cinema, data=data, actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
            await session.refresh(user)
            cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
        status = 422 if isinstance(exc, FormError) else exc.status
        return await _cinema_form(request, session, user, cinema, form=form, error=exc.message, status=status)
    web_session(request).flash(f"Cinema {cinema.name} saved.", "success")
    return see_other("/backoffice/cinemas")


@router.get("/cinemas/{cinema_id}/delete", response_class=HTMLResponse)
async def cinema_delete_confirm(
    request: Request, session: SessionDep, user: StaffPageUser, cinema_id: DbId
) -> HTMLResponse:
    """Ask before deleting a cinema."""
    cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    return confirm_page(
        request,
        title=f"Delete the cinema {cinema.name}?",
        action=f"/backoffice/cinemas/{cinema.id}/delete",
        back="/backoffice/cinemas",
        warning="Its screens and their showtimes are deleted too. This cannot be undone.",
        section="cinemas",
    )


@router.post("/cinemas/{cinema_id}/delete", response_class=HTMLResponse)
async def cinema_delete(
    request: Request, session: SessionDep, user: StaffPageUser, cinema_id: DbId
) -> Response:
    """Delete the cinema; refused (with the reason) when tickets were sold."""
    cinema = await venues.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    name = cinema.name
    return await delete_then_redirect(
        request,
        session,
        venues.delete_cinema(session, cinema=cinema, actor=user),
        what=f"The cinema {name}",
        done=f"Cinema {name} deleted.",
        back="/backoffice/cinemas",
    )


async def _showtime_form(
    request: Request,
    session: SessionDep,
    showtime_id: int,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    sctx = await showtimes.load_showtime_context(session, showtime_id=showtime_id)
    show, tz = sctx.showtime, ZoneInfo(sctx.cinema.timezone)
    local = show.starts_at.astimezone(tz)
    values = form or {
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "format": show.format,
        "language": show.language,
        "subtitles": show.subtitles or "",
        "sales_close_minutes": str(int((show.starts_at - show.sales_close_at).total_seconds() // 60)),
        **{f"price_{t}": f"{c // 100}.{c % 100:02d}" for t, c in show.prices.items()},
    }
    return render(
        request,
        "backoffice/showtime_edit.html",
        {
            "sctx": sctx,
            "form": values,
            "seat_types": [t for t in SEAT_TYPES if t in show.prices],
            "error": error,
            "section": "showtimes",
        },
        status=status,
    )


@router.get("/showtimes/{showtime_id}/edit", response_class=HTMLResponse)
async def showtime_edit_form(
    request: Request, session: SessionDep, user: StaffPageUser, showtime_id: DbId
) -> HTMLResponse:
    """The showtime's time, format, languages and prices in a prefilled form."""
    showtime = await showtimes.get_showtime_for_staff(session, showtime_id=showtime_id, user=user)
    return await _showtime_form(request, session, showtime.id)


def _local_start(values: dict[str, str], tz: ZoneInfo) -> datetime:
    try:
        day = date.fromisoformat(values.get("date", ""))
        hh, mm = (int(p) for p in values.get("time", "").split(":")[:2])
        return datetime.combine(day, datetime.min.time(), tz).replace(hour=hh, minute=mm)
    except ValueError as exc:
        raise FormError("Give the day and the start time.") from exc


def _showtime_changes(values: dict[str, str], starts_at: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The form's fields as ShowtimeUpdate input; the start is sent only when it moved (to the minute)."""
    given = bool(values.get("date") or values.get("time"))
    starts = _local_start(values, tz) if given else None
    moved = starts is not None and starts != starts_at.replace(second=0, microsecond=0)
    prices = {t: c for t in SEAT_TYPES if (c := _cents(values.get(f"price_{t}", ""))) is not None}
    return {
        "starts_at": starts if moved else "",
        "format": values.get("format", ""),
        "language": values.get("language", ""),
        "subtitles": values.get("subtitles", ""),
        "sales_close_minutes": values.get("sales_close_minutes", ""),
        "prices": prices or "",
    }


@router.post("/showtimes/{showtime_id}/edit", response_class=HTMLResponse)
async def showtime_edit(
    request: Request, session: SessionDep, user: StaffPageUser, showtime_id: DbId
) -> Response:
    """Save the showtime's changes; moving it is refused once seats are sold or held."""
    showtime = await showtimes.get_showtime_for_staff(session, showtime_id=showtime_id, user=user)
    cinema = await venues.get_cinema_for_staff(session, cinema_id=showtime.cinema_id, user=user)
    tz = ZoneInfo(cinema.timezone)
    form = await request.form()
    values = {k: str(v)[:100] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        data = parse(ShowtimeUpdate, **_showtime_changes(values, showtime.starts_at, tz))
        if "subtitles" in values and not values["subtitles"].strip() and showtime.subtitles:
            data.subtitles = None  # an emptied field removes the subtitles
        done = await showtimes.update_showtime(session, showtime=showtime, data=data, actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
            await session.refresh(user)
        status = 422 if isinstance(exc, FormError) else exc.status
        return await _showtime_form(
            request, session, showtime_id, form=values, error=exc.message, status=status
        )
    day = done.showtime.starts_at.astimezone(tz).date()
    web_session(request).flash(f"{done.movie.title} on {done.screen.name} saved.", "success")
    return see_other(f"/backoffice/showtimes?cinema_id={done.cinema.id}&date={day.isoformat()}")


@router.get("/showtimes/{showtime_id}/delete", response_class=HTMLResponse)
async def showtime_delete_confirm(
    request: Request, session: SessionDep, user: StaffPageUser, showtime_id: DbId
) -> HTMLResponse:
    """Ask before deleting a showtime."""
    showtime = await showtimes.get_showtime_for_staff(session, showtime_id=showtime_id, user=user)
    sctx = await showtimes.load_showtime_context(session, showtime_id=showtime.id)
    when = sctx.starts_at_local.strftime("%a %d %b %H:%M")
    return confirm_page(
        request,
        title=f"Delete {sctx.movie.title} on {sctx.screen.name}, {when}?",
        action=f"/backoffice/showtimes/{showtime.id}/delete",
        back=f"/backoffice/showtimes?cinema_id={sctx.cinema.id}&date={sctx.starts_at_local.date().isoformat()}",
        warning="A showtime with sold or held seats cannot be deleted; cancel it to refund the buyers.",
        section="showtimes",
    )


@router.post("/showtimes/{showtime_id}/delete", response_class=HTMLResponse)
async def showtime_delete(
    request: Request, session: SessionDep, user: StaffPageUser, showtime_id: DbId
) -> Response:
    """Delete the showtime; refused (with the reason) when seats are sold or held."""
    showtime = await showtimes.get_showtime_for_staff(session, showtime_id=showtime_id, user=user)
    sctx = await showtimes.load_showtime_context(session, showtime_id=showtime.id)
    back = f"/backoffice/showtimes?cinema_id={sctx.cinema.id}&date={sctx.starts_at_local.date().isoformat()}"
    title = sctx.movie.title
    return await delete_then_redirect(
        request,
        session,
        showtimes.delete_showtime(session, showtime=showtime, actor=user),
        what=f"The showtime of {title}",
        done=f"Showtime of {title} deleted.",
        back=back,
    )


def _screen_page(
    request: Request,
    cinema: Cinema,
    screen: Screen,
    *,
    name: str,
    layout: list[str],
    formats: str,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    grid, preview_error = layout_preview(layout)
    return render(
        request,
        "backoffice/screen_form.html",
        {
            "cinema": cinema,
            "name": name,
            "layout": "\n".join(layout),
            "grid": grid,
            "error": error or preview_error,
            "formats": formats,
            "heading": f"Edit {screen.name}",
            "action": f"/backoffice/screens/{screen.id}/edit",
            "submit": "Save screen",
            "delete_url": f"/backoffice/screens/{screen.id}/delete",
            "section": "cinemas",
        },
        status=status,
    )


@router.get("/screens/{screen_id}/edit", response_class=HTMLResponse)
async def screen_edit_form(
    request: Request, session: SessionDep, user: StaffPageUser, screen_id: DbId
) -> HTMLResponse:
    """The screen's name, formats and layout (the layout is locked once it has showtimes)."""
    screen, cinema = await venues.get_screen_for_staff(session, screen_id=screen_id, user=user)
    return _screen_page(
        request,
        cinema,
        screen,
        name=screen.name,
        layout=list(screen.layout),
        formats=", ".join(screen.formats),
    )


@router.post("/screens/{screen_id}/edit", response_class=HTMLResponse)
async def screen_edit(
    request: Request,
    session: SessionDep,
    user: StaffPageUser,
    screen_id: DbId,
    name: Annotated[str, Form(max_length=100)],
    layout: Annotated[str, Form(max_length=8000)],
    formats: Annotated[str, Form(max_length=200)] = "2D",
) -> Response:
    """Save the screen; a changed layout is refused (with the reason) once the screen has showtimes."""
    screen, cinema = await venues.get_screen_for_staff(session, screen_id=screen_id, user=user)
    rows = [line.rstrip() for line in layout.replace("\r", "").split("\n") if line.strip()]
    format_list = [f.strip() for f in formats.replace(";", ",").split(",") if f.strip()]
    try:
        data = parse(
            ScreenUpdate,
            name=name if name.strip() != screen.name else "",
            formats=format_list or "",
            layout=rows if rows != list(screen.layout) else "",
        )
        await venues.update_screen(session, screen=screen, data=data, actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
            await session.refresh(user)
            screen, cinema = await venues.get_screen_for_staff(session, screen_id=screen_id, user=user)
        status = 422 if isinstance(exc, FormError) else exc.status
        return _screen_page(
            request, cinema, screen, name=name, layout=rows, formats=formats, error=exc.message, status=status
        )
    web_session(request).flash(f"Screen {screen.name} saved ({screen.seat_count} seats).", "success")
    return see_other("/backoffice/cinemas")


@router.get("/screens/{screen_id}/delete", response_class=HTMLResponse)
async def screen_delete_confirm(
    request: Request, session: SessionDep, user: StaffPageUser, screen_id: DbId
) -> HTMLResponse:
    """Ask before deleting a screen."""
    screen, cinema = await venues.get_screen_for_staff(session, screen_id=screen_id, user=user)
    return confirm_page(
        request,
        title=f"Delete {screen.name} at {cinema.name}?",
        action=f"/backoffice/screens/{screen.id}/delete",
        back="/backoffice/cinemas",
        warning="Its showtimes are deleted too. This cannot be undone.",
        section="cinemas",
    )


@router.post("/screens/{screen_id}/delete", response_class=HTMLResponse)
async def screen_delete(
    request: Request, session: SessionDep, user: StaffPageUser, screen_id: DbId
) -> Response:
    """Delete the screen; refused (with the reason) when tickets were sold."""
    screen, _cinema = await venues.get_screen_for_staff(session, screen_id=screen_id, user=user)
    name = screen.name
    return await delete_then_redirect(
        request,
        session,
        venues.delete_screen(session, screen=screen, actor=user),
        what=f"The screen {name}",
        done=f"Screen {name} deleted.",
        back="/backoffice/cinemas",
    )
