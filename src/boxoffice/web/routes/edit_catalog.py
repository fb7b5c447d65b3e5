"""Back office: edit and delete movies and people (admins, or the owner who added them) and genres."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from boxoffice.accounts.models import User
from boxoffice.catalog import service as catalog
from boxoffice.catalog.models import Genre, Movie, Person
from boxoffice.catalog.schemas import GenreCreate, MovieUpdate, PersonUpdate
from boxoffice.deps import SessionDep
from boxoffice.errors import AppError
from boxoffice.web.deps import AdminPageUser, DbId, StaffPageUser
from boxoffice.web.forms import FormError, parse
from boxoffice.web.pages import confirm_page, delete_then_redirect, see_other
from boxoffice.web.templating import render, web_session

router = APIRouter(prefix="/backoffice")


async def _movie_form(
    request: Request,
    session: SessionDep,
    movie: Movie,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    full = await catalog.get_movie(session, movie_id=movie.id)
    values = form or {
        "title": full.title,
        "runtime_minutes": str(full.runtime_minutes),
        "release_date": full.release_date.isoformat() if full.release_date else "",
        "certificate": full.certificate or "",
        "trailer_url": full.trailer_url or "",
        "synopsis": full.synopsis or "",
        "genre_ids": [str(g.id) for g in full.genres],
    }
    genres, _ = await catalog.list_genres(session, offset=0, limit=100)
    return render(
        request,
        "backoffice/movie_edit.html",
        {"movie": full, "form": values, "genres": genres, "error": error, "section": "movies"},
        status=status,
    )


@router.get("/movies/{movie_id}/edit", response_class=HTMLResponse)
async def movie_edit_form(
    request: Request, session: SessionDep, user: StaffPageUser, movie_id: DbId
) -> HTMLResponse:
    """The movie's details and genres in a prefilled form."""
    movie = await catalog.get_movie_for_edit(session, movie_id=movie_id, user=user)
    return await _movie_form(request, session, movie)


async def _refetch(session: SessionDep, user: User, movie_id: int) -> Movie:
    await session.rollback()
    await session.refresh(user)
    return await catalog.get_movie_for_edit(session, movie_id=movie_id, user=user)


@router.post("/movies/{movie_id}/edit", response_class=HTMLResponse)
async def movie_edit(request: Request, session: SessionDep, user: StaffPageUser, movie_id: DbId) -> Response:
    """Save the movie's changes; the ticked genres replace the old ones."""
    movie = await catalog.get_movie_for_edit(session, movie_id=movie_id, user=user)
    form = await request.form()
    values: dict[str, Any] = {
        k: str(v)[:10_000] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"
    }
    values["genre_ids"] = [str(v) for v in form.getlist("genre_ids") if isinstance(v, str) and v.isdigit()]
    try:
        data = parse(
            MovieUpdate,
            title=values.get("title", "")[:300],
            runtime_minutes=values.get("runtime_minutes", ""),
            synopsis=values.get("synopsis", ""),
            release_date=values.get("release_date", ""),
            certificate=values.get("certificate", "")[:16],
            trailer_url=values.get("trailer_url", "")[:500],
            genre_ids=values["genre_ids"][:20],
        )
        saved = await catalog.update_movie(session, movie=movie, data=data, actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            movie = await _refetch(session, user, movie_id)
        status = 422 if isinstance(exc, FormError) else exc.status
        return await _movie_form(request, session, movie, form=values, error=exc.message, status=status)
    web_session(request).flash(f"{saved.title} saved.", "success")
    return see_other("/backoffice/movies")


@router.get("/movies/{movie_id}/delete", response_class=HTMLResponse)
async def movie_delete_confirm(
    request: Request, session: SessionDep, user: StaffPageUser, movie_id: DbId
) -> HTMLResponse:
    """Ask before deleting a movie."""
    movie = await catalog.get_movie_for_edit(session, movie_id=movie_id, user=user)
    return confirm_page(
        request,
        title=f"Delete the movie {movie.title}?",
        action=f"/backoffice/movies/{movie.id}/delete",
        back="/backoffice/movies",
        warning="Its showtimes are deleted too. This cannot be undone.",
        section="movies",
    )


@router.post("/movies/{movie_id}/delete", response_class=HTMLResponse)
async def movie_delete(
    request: Request, session: SessionDep, user: StaffPageUser, movie_id: DbId
) -> Response:
    """Delete the movie; refused (with the reason) when tickets were sold."""
    movie = await catalog.get_movie_for_edit(session, movie_id=movie_id, user=user)
    title = movie.title
    return await delete_then_redirect(
        request,
        session,
        catalog.delete_movie(session, movie=movie, actor=user),
        what=f"The movie {title}",
        done=f"Movie {title} deleted.",
        back="/backoffice/movies",
    )


def _person_page(
    request: Request, person: Person, form: dict[str, str], *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "backoffice/person_edit.html",
        {"person": person, "form": form, "error": error, "section": "movies"},
        status=status,
    )


@router.get("/people/{person_id}/edit", response_class=HTMLResponse)
async def person_edit_form(
    request: Request, session: SessionDep, user: StaffPageUser, person_id: DbId
) -> HTMLResponse:
    """The person's name, bio and birth date in a prefilled form."""
    person = await catalog.get_person_for_edit(session, person_id=person_id, user=user)
    form = {
        "name": person.name,
        "bio": person.bio or "",
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
    }
    return _person_page(request, person, form)


@router.post("/people/{person_id}/edit", response_class=HTMLResponse)
async def person_edit(
    request: Request,
    session: SessionDep,
    user: StaffPageUser,
    person_id: DbId,
    name: Annotated[str, Form(max_length=200)],
    bio: Annotated[str, Form(max_length=10_000)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Save the person's changes."""
    person = await catalog.get_person_for_edit(session, person_id=person_id, user=user)
    form = {"name": name, "bio": bio, "birth_date": birth_date}
    try:
        data = parse(PersonUpdate, name=name, birth_date=birth_date)
        data.bio = bio
        await catalog.update_person(session, person=person, data=data, actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
            await session.refresh(user)
            person = await catalog.get_person_for_edit(session, person_id=person_id, user=user)
        status = 422 if isinstance(exc, FormError) else exc.status
        return _person_page(request, person, form, error=exc.message, status=status)
    web_session(request).flash(f"{person.name} saved.", "success")
    return see_other("/backoffice/movies")


@router.get("/people/{person_id}/delete", response_class=HTMLResponse)
async def person_delete_confirm(
    request: Request, session: SessionDep, user: StaffPageUser, person_id: DbId
) -> HTMLResponse:
    """Ask before deleting a person."""
    person = await catalog.get_person_for_edit(session, person_id=person_id, user=user)
    return confirm_page(
        request,
        title=f"Delete {person.name}?",
        action=f"/backoffice/people/{person.id}/delete",
        back="/backoffice/movies",
        warning="A person credited on a movie cannot be deleted; remove the credits first.",
        section="movies",
    )


@router.post("/people/{person_id}/delete", response_class=HTMLResponse)
async def person_delete(
    request: Request, session: SessionDep, user: StaffPageUser, person_id: DbId
) -> Response:
    """Delete the person; refused (with the reason) while a movie credits them."""
    person = await catalog.get_person_for_edit(session, person_id=person_id, user=user)
    name = person.name
    return await delete_then_redirect(
        request,
        session,
        catalog.delete_person(session, person=person, actor=user),
        what=f"The person {name}",
        done=f"{name} deleted.",
        back="/backoffice/movies",
    )


def _genre_page(
    request: Request, genre: Genre, name: str, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "backoffice/genre_edit.html",
        {"genre": genre, "name": name, "error": error, "section": "movies"},
        status=status,
    )


@router.get("/genres/{genre_id}/edit", response_class=HTMLResponse)
async def genre_edit_form(
    request: Request, session: SessionDep, user: AdminPageUser, genre_id: DbId
) -> HTMLResponse:
    """Rename a genre (admins)."""
    genre = await catalog.get_genre(session, genre_id=genre_id)
    return _genre_page(request, genre, genre.name)


@router.post("/genres/{genre_id}/edit", response_class=HTMLResponse)
async def genre_edit(
    request: Request,
    session: SessionDep,
    user: AdminPageUser,
    genre_id: DbId,
    name: Annotated[str, Form(max_length=60)],
) -> Response:
    """Save the genre's new name (admins)."""
    genre = await catalog.get_genre(session, genre_id=genre_id)
    try:
        await catalog.update_genre(session, genre=genre, data=parse(GenreCreate, name=name), actor=user)
    except (FormError, AppError) as exc:
        if isinstance(exc, AppError):
            await session.rollback()
            await session.refresh(user)
            genre = await catalog.get_genre(session, genre_id=genre_id)
        status = 422 if isinstance(exc, FormError) else exc.status
        return _genre_page(request, genre, name, error=exc.message, status=status)
    web_session(request).flash(f"Genre {genre.name} saved.", "success")
    return see_other("/backoffice/movies")


@router.get("/genres/{genre_id}/delete", response_class=HTMLResponse)
async def genre_delete_confirm(
    request: Request, session: SessionDep, user: AdminPageUser, genre_id: DbId
) -> HTMLResponse:
    """Ask before deleting a genre (admins)."""
    genre = await catalog.get_genre(session, genre_id=genre_id)
    return confirm_page(
        request,
        title=f"Delete the genre {genre.name}?",
        action=f"/backoffice/genres/{genre.id}/delete",
        back="/backoffice/movies",
        warning="Movies of this genre simply lose it.",
        section="movies",
    )


@router.post("/genres/{genre_id}/delete", response_class=HTMLResponse)
async def genre_delete(
    request: Request, session: SessionDep, user: AdminPageUser, genre_id: DbId
) -> Response:
    """Delete the genre (admins)."""
    genre = await catalog.get_genre(session, genre_id=genre_id)
    name = genre.name
    return await delete_then_redirect(
        request,
        session,
        catalog.delete_genre(session, genre=genre, actor=user),
        what=f"The genre {name}",
        done=f"Genre {name} deleted.",
        back="/backoffice/movies",
    )
