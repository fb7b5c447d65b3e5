"""JSON routes of genres, people and movies (reads are public)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from boxoffice.accounts.deps import AdminUser, StaffUser
from boxoffice.catalog import service
from boxoffice.catalog.inputs import MAX_ID, NO_NUL
from boxoffice.catalog.models import CreditRole, Movie
from boxoffice.catalog.poster import poster_svg
from boxoffice.catalog.schemas import (
    CreditRead,
    GenreCreate,
    GenreRead,
    GenreUpdate,
    MovieCreate,
    MovieDetail,
    MovieRead,
    MovieSort,
    MovieStatus,
    MovieUpdate,
    PersonBrief,
    PersonCreate,
    PersonDetail,
    PersonRead,
    PersonUpdate,
)
from boxoffice.deps import SessionDep
from boxoffice.kit.pagination import Page, PageDep

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]

router = APIRouter(tags=["catalog"])

NO_CONTENT = status.HTTP_204_NO_CONTENT


# Genres


@router.get("/genres", response_model=Page[GenreRead])
async def list_genres(session: SessionDep, page: PageDep) -> Page[GenreRead]:
    """Every genre, by name."""
    genres, total = await service.list_genres(session, offset=page.offset, limit=page.per_page)
    items = [GenreRead.model_validate(g) for g in genres]
    return Page(items=items, total=total, page=page.page, per_page=page.per_page)


@router.get("/genres/{genre_id}", response_model=GenreRead)
async def get_genre(genre_id: PathId, session: SessionDep) -> GenreRead:
    """One genre."""
    return GenreRead.model_validate(await service.get_genre(session, genre_id=genre_id))


@router.post("/genres", response_model=GenreRead, status_code=status.HTTP_201_CREATED)
async def create_genre(data: GenreCreate, session: SessionDep, user: AdminUser) -> GenreRead:
    """Create a genre (admins); 409 `genre_exists`."""
    return GenreRead.model_validate(await service.create_genre(session, data=data, actor=user))


@router.patch("/genres/{genre_id}", response_model=GenreRead)
async def update_genre(
    genre_id: PathId, data: GenreUpdate, session: SessionDep, user: AdminUser
) -> GenreRead:
    """Rename a genre (admins)."""
    genre = await service.get_genre(session, genre_id=genre_id)
    return GenreRead.model_validate(await service.update_genre(session, genre=genre, data=data, actor=user))


@router.delete("/genres/{genre_id}", status_code=NO_CONTENT)
async def delete_genre(genre_id: PathId, session: SessionDep, user: AdminUser) -> Response:
    """Delete a genre (admins)."""
    genre = await service.get_genre(session, genre_id=genre_id)
    await service.delete_genre(session, genre=genre, actor=user)
    return Response(status_code=NO_CONTENT)


# People


@router.get("/people", response_model=Page[PersonRead])
async def list_people(
    session: SessionDep, page: PageDep, q: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None
) -> Page[PersonRead]:
    """People by name; `q` matches any part of the name, ignoring case and accents."""
    people, total = await service.list_people(session, q=q, offset=page.offset, limit=page.per_page)
    items = [PersonRead.model_validate(p) for p in people]
    return Page(items=items, total=total, page=page.page, per_page=page.per_page)


@router.get("/people/{person_id}", response_model=PersonDetail)
async def get_person(person_id: PathId, session: SessionDep) -> PersonDetail:
    """One person with their filmography."""
    person = await service.get_person(session, person_id=person_id)
    credits_ = await service.filmography(session, person_id=person_id)
    return PersonDetail(**PersonRead.model_validate(person).model_dump(), credits=credits_)


@router.post("/people", response_model=PersonRead, status_code=status.HTTP_201_CREATED)
async def create_person(data: PersonCreate, session: SessionDep, user: StaffUser) -> PersonRead:
    """Add a person (admins and owners)."""
    return PersonRead.model_validate(await service.create_person(session, data=data, actor=user))


@router.patch("/people/{person_id}", response_model=PersonRead)
async def update_person(
    person_id: PathId, data: PersonUpdate, session: SessionDep, user: StaffUser
) -> PersonRead:
    """Change a person (admins; owners for people they added)."""
    person = await service.get_person_for_edit(session, person_id=person_id, user=user)
    return PersonRead.model_validate(
        await service.update_person(session, person=person, data=data, actor=user)
    )


@router.delete("/people/{person_id}", status_code=NO_CONTENT)
async def delete_person(person_id: PathId, session: SessionDep, user: StaffUser) -> Response:
    """Delete a person without credits; 409 `person_has_credits` otherwise."""
    person = await service.get_person_for_edit(session, person_id=person_id, user=user)
    await service.delete_person(session, person=person, actor=user)
    return Response(status_code=NO_CONTENT)


# Movies


def _movie_read(movie: Movie, movie_status: MovieStatus) -> MovieRead:
    return MovieRead(
        id=movie.id,
        title=movie.title,
        synopsis=movie.synopsis,
        runtime_minutes=movie.runtime_minutes,
        release_date=movie.release_date,
        certificate=movie.certificate,
        original_language=movie.original_language,
        production_company=movie.production_company,
        poster_url=movie.poster_url,
        trailer_url=movie.trailer_url,
        status=movie_status,
        genres=[GenreRead.model_validate(g) for g in movie.genres],
        created_by_id=movie.created_by_id,
        created_at=movie.created_at,
    )


async def _movie_detail(session: SessionDep, movie_id: int) -> MovieDetail:
    movie = await service.get_movie(session, movie_id=movie_id, full=True)
    movie_status = await service.status_of(session, movie=movie)
    credit_list = [
        CreditRead(
            person=PersonBrief.model_validate(c.person),
            role=c.role,
            character=c.character,
            billing_order=c.billing_order,
        )
        for c in movie.credits
    ]
    return MovieDetail(
        **_movie_read(movie, movie_status).model_dump(),
        cast=[c for c in credit_list if c.role == CreditRole.actor],
        crew=[c for c in credit_list if c.role != CreditRole.actor],
        showtimes=await service.showtimes_by_cinema(session, movie_id=movie_id),
    )


@router.get("/movies", response_model=Page[MovieRead])
async def list_movies(
    session: SessionDep,
    page: PageDep,
    q: Annotated[
        str | None,
        Query(max_length=100, pattern=NO_NUL, description="part of the title, any case or accents"),
    ] = None,
    genre: Annotated[str | None, Query(max_length=60, pattern=NO_NUL, description="genre id or slug")] = None,
    movie_status: Annotated[MovieStatus | None, Query(alias="status")] = None,
    language: Annotated[str | None, Query(max_length=16, pattern=NO_NUL)] = None,
    cinema_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    day: Annotated[date | None, Query(alias="date", description="showing on this local day")] = None,
    sort: MovieSort = "title",
) -> Page[MovieRead]:
    """Movies: search by title, filter by genre, status, language, cinema and day; sorted and paginated."""
    query = service.MovieListQuery(
        q=q, genre=genre, status=movie_status, language=language, cinema_id=cinema_id, day=day
    )
    rows, total = await service.list_movies(
        session, query=query, sort=sort, offset=page.offset, limit=page.per_page
    )
    items = [_movie_read(m, s) for m, s in rows]
    return Page(items=items, total=total, page=page.page, per_page=page.per_page)


@router.get("/movies/{movie_id}", response_model=MovieDetail)
async def get_movie(movie_id: PathId, session: SessionDep) -> MovieDetail:
    """A movie with cast, crew and its upcoming showtimes by cinema and local day."""
    return await _movie_detail(session, movie_id)


@router.get("/movies/{movie_id}/poster.svg", response_class=Response)
async def movie_poster(movie_id: PathId, session: SessionDep) -> Response:
    """A generated poster (SVG) for the movie."""
    movie = await service.get_movie(session, movie_id=movie_id)
    year = movie.release_date.year if movie.release_date else ""
    svg = poster_svg(title=movie.title, subtitle=f"{movie.certificate} {year}".strip(), seed=f"{movie.id}")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


@router.post("/movies", response_model=MovieDetail, status_code=status.HTTP_201_CREATED)
async def create_movie(data: MovieCreate, session: SessionDep, user: StaffUser) -> MovieDetail:
    """Add a movie with genres and credits (admins and owners)."""
    movie = await service.create_movie(session, data=data, actor=user)
    return await _movie_detail(session, movie.id)


@router.patch("/movies/{movie_id}", response_model=MovieDetail)
async def update_movie(
    movie_id: PathId, data: MovieUpdate, session: SessionDep, user: StaffUser
) -> MovieDetail:
    """Change a movie (admins; owners for movies they created)."""
    movie = await service.get_movie_for_edit(session, movie_id=movie_id, user=user)
    await service.update_movie(session, movie=movie, data=data, actor=user)
    return await _movie_detail(session, movie_id)


@router.delete("/movies/{movie_id}", status_code=NO_CONTENT)
async def delete_movie(movie_id: PathId, session: SessionDep, user: StaffUser) -> Response:
    """Delete a movie and its showtimes; 409 `has_bookings` when tickets were sold."""
    movie = await service.get_movie_for_edit(session, movie_id=movie_id, user=user)
    await service.delete_movie(session, movie=movie, actor=user)
    return Response(status_code=NO_CONTENT)
