"""Back office: bookings (search, open, cancel), check-in, movies, people, genres, users, audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from boxoffice.accounts import admin_service
from boxoffice.accounts.deps import ClientMetaDep, LimiterDep
from boxoffice.accounts.models import Role
from boxoffice.accounts.schemas import AdminUserCreate
from boxoffice.audit import service as audit
from boxoffice.booking import checkin, presenters, queries
from boxoffice.booking.checkin_api import CHECKIN_LIMIT
from boxoffice.booking.schemas import CheckinRequest
from boxoffice.catalog import service as catalog
from boxoffice.catalog.schemas import GenreCreate, MovieCreate, PersonCreate
from boxoffice.deps import SessionDep, SettingsDep
from boxoffice.errors import AppError
from boxoffice.kit.pagination import PageParams
from boxoffice.showtimes.service import ShowtimeContext, load_showtime_context
from boxoffice.web.deps import AdminPageUser, DbId, StaffPageUser
from boxoffice.web.forms import FormError, parse
from boxoffice.web.pages import see_other
from boxoffice.web.templating import render, web_session

router = APIRouter(prefix="/backoffice")

Search = Annotated[str, Query(max_length=100)]


@router.get("/bookings", response_class=HTMLResponse)
async def bookings_page(
    request: Request, session: SessionDep, user: StaffPageUser, q: Search = ""
) -> HTMLResponse:
    """Bookings of the caller's cinemas, searchable by reference or (admins) customer email."""
    q = q.strip()
    reference = q.upper() if q and "@" not in q else None
    email = q.lower() if "@" in q else None
    rows, total = await queries.search(
        session, user=user, page=PageParams(1, 50), reference=reference, email=email
    )
    contexts: dict[int, ShowtimeContext] = {}
    items = [await presenters.booking_read(session, b, include_email=True, contexts=contexts) for b in rows]
    return render(
        request, "backoffice/bookings.html", {"items": items, "total": total, "q": q, "section": "bookings"}
    )


@router.get("/checkin", response_class=HTMLResponse)
async def checkin_page(request: Request, user: StaffPageUser) -> HTMLResponse:
    """The door: type or scan a ticket code."""
    return render(request, "backoffice/checkin.html", {"section": "checkin"})


@router.post("/checkin", response_class=HTMLResponse)
async def checkin_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: StaffPageUser,
    limiter: LimiterDep,
    code: Annotated[str, Form(max_length=400)],
) -> HTMLResponse:
    """Admit the ticket, or say plainly why not (attempts are rate limited like the API's)."""
    try:
        await limiter.hit("checkin", str(user.id), limit=CHECKIN_LIMIT)
        data = parse(CheckinRequest, code=code.strip())
        ticket, booking = await checkin.check_in(
            session, secret_key=settings.secret_key, actor=user, code=data.code, showtime_id=None
        )
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
        status = exc.status if isinstance(exc, AppError) else 422
        return render(
            request, "backoffice/checkin.html", {"section": "checkin", "error": exc.message}, status=status
        )
    sctx = await load_showtime_context(session, showtime_id=ticket.showtime_id)
    admitted = {
        "reference": booking.reference,
        "seat": f"{ticket.row}{ticket.number}",
        "movie": sctx.movie.title,
        "when": sctx.starts_at_local.strftime("%a %d %b %H:%M"),
        "screen": sctx.screen.name,
    }
    return render(request, "backoffice/checkin.html", {"section": "checkin", "admitted": admitted})


@router.get("/movies", response_class=HTMLResponse)
async def movies_page(
    request: Request, session: SessionDep, user: StaffPageUser, q: Search = ""
) -> HTMLResponse:
    """The catalogue: movies, people and genres, with forms to add them and links to edit them."""
    movies, _ = await catalog.list_movies(
        session, query=catalog.MovieListQuery(q=q.strip() or None), sort="title", offset=0, limit=100
    )
    genres, _ = await catalog.list_genres(session, offset=0, limit=100)
    people, _ = await catalog.list_people(session, q=None, offset=0, limit=100)
    return render(
        request,
        "backoffice/movies.html",
        {
            "movies": movies,
            "genres": genres,
            "q": q,
            "editable": {m.id for m, _ in movies if catalog.can_edit(user, m.created_by_id)},
            "people": people,
            "editable_people": {p.id for p in people if catalog.can_edit(user, p.created_by_id)},
            "section": "movies",
        },
    )


@router.post("/movies", response_class=HTMLResponse)
async def movie_create(request: Request, session: SessionDep, user: StaffPageUser) -> Response:
    """Add a movie with its genres."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    genre_ids = [str(v) for v in form.getlist("genre_ids") if isinstance(v, str) and v.isdigit()]
    try:
        data = parse(
            MovieCreate,
            title=values.get("title", "")[:300],
            runtime_minutes=values.get("runtime_minutes", ""),
            synopsis=values.get("synopsis", "")[:10_000],
            release_date=values.get("release_date", ""),
            certificate=values.get("certificate", "")[:16],
            trailer_url=values.get("trailer_url", "")[:500],
            genre_ids=genre_ids,
        )
        movie = await catalog.create_movie(session, data=data, actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
        web_session(request).flash(exc.message, "error")
        return see_other("/backoffice/movies")
    web_session(request).flash(f"{movie.title} added to the catalogue.", "success")
    return see_other("/backoffice/movies")


@router.post("/people", response_class=HTMLResponse)
async def person_create(
    request: Request,
    session: SessionDep,
    user: StaffPageUser,
    name: Annotated[str, Form(max_length=200)],
    bio: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Add an actor, director or producer."""
    try:
        person = await catalog.create_person(
            session, data=parse(PersonCreate, name=name, bio=bio), actor=user
        )
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
        web_session(request).flash(exc.message, "error")
        return see_other("/backoffice/movies")
    web_session(request).flash(f"{person.name} added.", "success")
    return see_other("/backoffice/movies")


@router.post("/genres", response_class=HTMLResponse)
async def genre_create(
    request: Request, session: SessionDep, user: AdminPageUser, name: Annotated[str, Form(max_length=60)]
) -> Response:
    """Add a genre (admins)."""
    try:
        genre = await catalog.create_genre(session, data=parse(GenreCreate, name=name), actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
        web_session(request).flash(exc.message, "error")
        return see_other("/backoffice/movies")
    web_session(request).flash(f"Genre {genre.name} added.", "success")
    return see_other("/backoffice/movies")


@router.get("/users", response_class=HTMLResponse)
async def users_page(
    request: Request,
    session: SessionDep,
    user: AdminPageUser,
    q: Search = "",
    role: Annotated[Role | None, Query()] = None,
) -> HTMLResponse:
    """Every account, searchable, with role and activation controls (admins)."""
    rows, total = await admin_service.list_users(session, q=q or None, role=role, offset=0, limit=100)
    return render(
        request,
        "backoffice/users.html",
        {"users": rows, "total": total, "q": q, "role": role, "roles": list(Role), "section": "users"},
    )


@router.post("/users", response_class=HTMLResponse)
async def user_create(
    request: Request,
    session: SessionDep,
    meta: ClientMetaDep,
    user: AdminPageUser,
    email: Annotated[str, Form(max_length=320)],
    full_name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=128)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    """Create an account with a role (owners and admins are made this way)."""
    try:
        data = parse(AdminUserCreate, email=email, full_name=full_name, password=password, role=role)
        created = await admin_service.create_user(
            session,
            admin=user,
            ip=meta.ip,
            email=data.email,
            password=data.password,
            full_name=data.full_name,
            role=data.role,
        )
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
        web_session(request).flash(exc.message, "error")
        return see_other("/backoffice/users")
    web_session(request).flash(f"{created.email} created as {created.role.value}.", "success")
    return see_other("/backoffice/users")


@router.post("/users/{user_id}", response_class=HTMLResponse)
async def user_update(
    request: Request,
    session: SessionDep,
    meta: ClientMetaDep,
    user: AdminPageUser,
    user_id: DbId,
    role: Annotated[str, Form(max_length=16)],
    is_active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Change a user's role or activation."""
    try:
        new_role = Role(role)
    except ValueError:
        web_session(request).flash("Unknown role.", "error")
        return see_other("/backoffice/users")
    try:
        await admin_service.update_user(
            session, admin=user, ip=meta.ip, user_id=user_id, role=new_role, is_active=is_active == "on"
        )
    except AppError as exc:
        if exc.status == 404:
            raise
        await session.rollback()
        web_session(request).flash(exc.message, "error")
        return see_other("/backoffice/users")
    web_session(request).flash("User updated.", "success")
    return see_other("/backoffice/users")


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    session: SessionDep,
    user: AdminPageUser,
    action: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """The audit log, newest first (admins)."""
    entries, total = await audit.list_entries(
        session, action=action or None, offset=(page - 1) * 50, limit=50
    )
    return render(
        request,
        "backoffice/audit.html",
        {"entries": entries, "total": total, "action": action, "page": page, "section": "audit"},
    )
