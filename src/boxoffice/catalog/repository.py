"""Queries on genres, people, movies and credits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, insert, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from boxoffice.catalog.models import Credit, Genre, Movie, Person, movie_genres
from boxoffice.catalog.text import like_pattern
from boxoffice.showtimes.models import Showtime, ShowtimeStatus
from boxoffice.showtimes.repository import in_local_day


async def list_genres(session: AsyncSession, *, offset: int, limit: int) -> tuple[list[Genre], int]:
    """One page of genres by name, and the total."""
    total = await session.scalar(select(func.count()).select_from(Genre))
    rows = await session.scalars(select(Genre).order_by(Genre.name).offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def get_genre(session: AsyncSession, genre_id: int) -> Genre | None:
    """The genre with this id, if any."""
    return await session.get(Genre, genre_id)


async def find_genre(session: AsyncSession, *, slug: str) -> Genre | None:
    """The genre with this slug, if any."""
    return (await session.scalars(select(Genre).where(Genre.slug == slug))).first()


async def get_genres(session: AsyncSession, ids: Sequence[int]) -> list[Genre]:
    """The genres with these ids (missing ones are left out)."""
    if not ids:
        return []
    return list(await session.scalars(select(Genre).where(Genre.id.in_(set(ids)))))


async def delete_genre(session: AsyncSession, genre_id: int) -> None:
    """Remove a genre and its movie links."""
    await session.execute(delete(movie_genres).where(movie_genres.c.genre_id == genre_id))
    await session.execute(delete(Genre).where(Genre.id == genre_id))


async def list_people(
    session: AsyncSession, *, q: str | None, offset: int, limit: int
) -> tuple[list[Person], int]:
    """One page of people by name (optionally matching `q`, accent-insensitive), and the total."""
    stmt = select(Person)
    if q:
        stmt = stmt.where(Person.name_search.like(like_pattern(q), escape="\\"))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(stmt.order_by(Person.name_search, Person.id).offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def get_person(session: AsyncSession, person_id: int) -> Person | None:
    """The person with this id, if any."""
    return await session.get(Person, person_id)


async def existing_person_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    """Which of these person ids exist."""
    if not ids:
        return set()
    return set(await session.scalars(select(Person.id).where(Person.id.in_(set(ids)))))


async def person_has_credits(session: AsyncSession, person_id: int) -> bool:
    """True when the person is credited on a movie."""
    return bool(await session.scalar(select(exists().where(Credit.person_id == person_id))))


async def person_credits(session: AsyncSession, person_id: int) -> list[tuple[Credit, str]]:
    """The person's credits with each movie's title."""
    rows = await session.execute(
        select(Credit, Movie.title)
        .join(Movie, Movie.id == Credit.movie_id)
        .where(Credit.person_id == person_id)
        .order_by(Movie.release_date.desc(), Movie.id)
    )
    return [(c, t) for c, t in rows.all()]


async def delete_person(session: AsyncSession, person_id: int) -> None:
    """Remove a person (without credits)."""
    await session.execute(delete(Person).where(Person.id == person_id))


@dataclass(frozen=True)
class MovieFilter:
    """What the movie list is narrowed by."""

    q: str | None = None
    genre_id: int | None = None
    status: str | None = None
    language: str | None = None
    cinema_id: int | None = None
    windows: Sequence[tuple[int, datetime, datetime]] | None = None
    today: date | None = None
    now: datetime | None = None


def _upcoming(now: datetime, *extra: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        Showtime.movie_id == Movie.id,
        Showtime.status == ShowtimeStatus.scheduled,
        Showtime.starts_at >= now,
        *extra,
    )


def _movie_conditions(f: MovieFilter) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    assert f.now is not None
    assert f.today is not None
    if f.q:
        cond.append(Movie.title_search.like(like_pattern(f.q), escape="\\"))
    if f.genre_id is not None:
        cond.append(
            exists().where(movie_genres.c.movie_id == Movie.id, movie_genres.c.genre_id == f.genre_id)
        )
    released = or_(Movie.release_date.is_(None), Movie.release_date <= f.today)
    if f.status == "coming_soon":
        cond.append(Movie.release_date > f.today)
    elif f.status == "now_showing":
        cond.append(and_(released, _upcoming(f.now)))
    elif f.status == "not_showing":
        cond.append(and_(released, not_(_upcoming(f.now))))
    if f.language:
        lang = f.language.lower()
        cond.append(
            or_(
                func.lower(Movie.original_language) == lang,
                _upcoming(f.now, func.lower(Showtime.language) == lang),
            )
        )
    if f.cinema_id is not None or f.windows is not None:
        extra: list[ColumnElement[bool]] = []
        if f.cinema_id is not None:
            extra.append(Showtime.cinema_id == f.cinema_id)
        if f.windows is not None:
            extra.append(in_local_day(f.windows))
        cond.append(
            exists().where(Showtime.movie_id == Movie.id, Showtime.status == ShowtimeStatus.scheduled, *extra)
            if f.windows is not None
            else _upcoming(f.now, *extra)
        )
    return cond


_SORTS: dict[str, Any] = {
    "title": (Movie.title_search.asc(),),
    "-title": (Movie.title_search.desc(),),
    "release_date": (Movie.release_date.asc(),),
    "-release_date": (Movie.release_date.desc(),),
    "runtime": (Movie.runtime_minutes.asc(),),
    "-runtime": (Movie.runtime_minutes.desc(),),
    "-created_at": (Movie.created_at.desc(),),
}


async def list_movies(
    session: AsyncSession, *, filters: MovieFilter, sort: str, offset: int, limit: int
) -> tuple[list[Movie], int]:
    """One page of movies (genres loaded) matching `filters`, and the total."""
    stmt = select(Movie).where(*_movie_conditions(filters))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    stmt = stmt.options(selectinload(Movie.genres)).order_by(*_SORTS[sort], Movie.id)
    rows = await session.scalars(stmt.offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def movies_with_upcoming(session: AsyncSession, movie_ids: Sequence[int], now: datetime) -> set[int]:
    """Which of these movies have a scheduled showtime from `now` on."""
    if not movie_ids:
        return set()
    stmt = select(Showtime.movie_id).where(
        Showtime.movie_id.in_(set(movie_ids)),
        Showtime.status == ShowtimeStatus.scheduled,
        Showtime.starts_at >= now,
    )
    return set(await session.scalars(stmt.distinct()))


async def get_movie(session: AsyncSession, movie_id: int, *, full: bool = False) -> Movie | None:
    """The movie with its genres (and, with `full`, its credits and their people)."""
    options = [selectinload(Movie.genres)]
    if full:
        options.append(selectinload(Movie.credits).selectinload(Credit.person))
    stmt = select(Movie).where(Movie.id == movie_id).options(*options)
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def set_movie_genres(session: AsyncSession, movie_id: int, genre_ids: Sequence[int]) -> None:
    """Replace a movie's genres."""
    await session.execute(delete(movie_genres).where(movie_genres.c.movie_id == movie_id))
    if genre_ids:
        await session.execute(
            movie_genres.insert(), [{"movie_id": movie_id, "genre_id": g} for g in sorted(set(genre_ids))]
        )


async def replace_credits(session: AsyncSession, movie_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Replace a movie's credits."""
    await session.execute(delete(Credit).where(Credit.movie_id == movie_id))
    if rows:
        await session.execute(insert(Credit), [{"movie_id": movie_id, **c} for c in rows])


async def delete_movie(session: AsyncSession, movie_id: int) -> None:
    """Remove a movie, its credits and genre links (its showtimes must be gone first)."""
    await session.execute(delete(Credit).where(Credit.movie_id == movie_id))
    await session.execute(delete(movie_genres).where(movie_genres.c.movie_id == movie_id))
    await session.execute(delete(Movie).where(Movie.id == movie_id))
