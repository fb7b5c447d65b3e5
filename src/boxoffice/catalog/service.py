"""Rules of the catalogue: who may write what, runtimes, genres, credits, and a movie's status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import Role, User
from boxoffice.audit.service import log_action
from boxoffice.catalog import repository as repo
from boxoffice.catalog.inputs import MAX_ID
from boxoffice.catalog.models import Genre, Movie, Person
from boxoffice.catalog.schemas import (
    CinemaShowtimes,
    CreditIn,
    FilmographyEntry,
    GenreCreate,
    MovieCreate,
    MovieStatus,
    MovieUpdate,
    PersonCreate,
    PersonUpdate,
    ShowtimeBrief,
    ShowtimeDay,
)
from boxoffice.catalog.text import normalise, slugify
from boxoffice.errors import Conflict, NotFound, Unprocessable
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes import repository as showtime_repo
from boxoffice.showtimes.service import local_day_windows
from boxoffice.venues import repository as venue_repo

MIN_RUNTIME, MAX_RUNTIME = 1, 600


def can_edit(user: User, created_by_id: int | None) -> bool:
    """Admins edit everything; owners what they created."""
    return user.role == Role.admin or (user.role == Role.owner and created_by_id == user.id)


def movie_status(movie: Movie, *, has_upcoming: bool, today: date) -> MovieStatus:
    """coming_soon before release; now_showing when released with an upcoming showtime; else not_showing."""
    if movie.release_date is not None and movie.release_date > today:
        return "coming_soon"
    return "now_showing" if has_upcoming else "not_showing"


# Genres


async def list_genres(session: AsyncSession, *, offset: int, limit: int) -> tuple[list[Genre], int]:
    """One page of genres by name, and the total."""
    return await repo.list_genres(session, offset=offset, limit=limit)


async def get_genre(session: AsyncSession, *, genre_id: int) -> Genre:
    """The genre, or 404."""
    genre = await repo.get_genre(session, genre_id)
    if genre is None:
        raise NotFound("No such genre.", code="genre_not_found")
    return genre


async def _check_genre_name(session: AsyncSession, slug: str, genre_id: int | None) -> None:
    other = await repo.find_genre(session, slug=slug)
    if other is not None and other.id != genre_id:
        raise Conflict(f"The genre {other.name!r} exists already.", code="genre_exists")


async def create_genre(session: AsyncSession, *, data: GenreCreate, actor: User) -> Genre:
    """Create a genre (admins)."""
    slug = slugify(data.name)
    if not slug:
        raise Unprocessable("The genre needs letters or digits in its name.", code="invalid_name")
    await _check_genre_name(session, slug, None)
    genre = Genre(name=data.name, slug=slug)
    session.add(genre)
    await session.flush()
    await log_action(
        session, action="genre.created", actor_id=actor.id, subject_type="genre", subject_id=genre.id
    )
    return genre


async def update_genre(session: AsyncSession, *, genre: Genre, data: GenreCreate, actor: User) -> Genre:
    """Rename a genre (admins)."""
    slug = slugify(data.name)
    if not slug:
        raise Unprocessable("The genre needs letters or digits in its name.", code="invalid_name")
    await _check_genre_name(session, slug, genre.id)
    genre.name, genre.slug = data.name, slug
    await session.flush()
    await log_action(
        session, action="genre.updated", actor_id=actor.id, subject_type="genre", subject_id=genre.id
    )
    return genre


async def delete_genre(session: AsyncSession, *, genre: Genre, actor: User) -> None:
    """Delete a genre; movies simply lose it (admins)."""
    genre_id = genre.id
    await repo.delete_genre(session, genre_id)
    await log_action(
        session, action="genre.deleted", actor_id=actor.id, subject_type="genre", subject_id=genre_id
    )


# People


async def list_people(
    session: AsyncSession, *, q: str | None, offset: int, limit: int
) -> tuple[list[Person], int]:
    """One page of people by name, optionally matching `q` (case- and accent-insensitive)."""
    return await repo.list_people(session, q=q, offset=offset, limit=limit)


async def get_person(session: AsyncSession, *, person_id: int) -> Person:
    """The person, or 404."""
    person = await repo.get_person(session, person_id)
    if person is None:
        raise NotFound("No such person.", code="person_not_found")
    return person


async def filmography(session: AsyncSession, *, person_id: int) -> list[FilmographyEntry]:
    """The person's credits with each movie's title, newest release first."""
    return [
        FilmographyEntry(movie_id=c.movie_id, title=title, role=c.role, character=c.character)
        for c, title in await repo.person_credits(session, person_id)
    ]


async def get_person_for_edit(session: AsyncSession, *, person_id: int, user: User) -> Person:
    """The person when `user` may edit it (admin, or the owner who added it); 404 otherwise."""
    person = await repo.get_person(session, person_id)
    if person is None or not can_edit(user, person.created_by_id):
        raise NotFound("No such person.", code="person_not_found")
    return person


async def create_person(session: AsyncSession, *, data: PersonCreate, actor: User) -> Person:
    """Add an actor, director or producer."""
    person = Person(
        name=data.name,
        name_search=normalise(data.name),
        bio=data.bio,
        birth_date=data.birth_date,
        photo_url=str(data.photo_url) if data.photo_url else None,
        created_by_id=actor.id,
    )
    session.add(person)
    await session.flush()
    await log_action(
        session, action="person.created", actor_id=actor.id, subject_type="person", subject_id=person.id
    )
    return person


async def update_person(session: AsyncSession, *, person: Person, data: PersonUpdate, actor: User) -> Person:
    """Change a person."""
    changes = data.model_dump(exclude_unset=True)
    if data.name is not None:
        person.name, person.name_search = data.name, normalise(data.name)
    if data.bio is not None:
        person.bio = data.bio
    if "birth_date" in changes:
        person.birth_date = data.birth_date
    if "photo_url" in changes:
        person.photo_url = str(data.photo_url) if data.photo_url else None
    await session.flush()
    await log_action(
        session, action="person.updated", actor_id=actor.id, subject_type="person", subject_id=person.id
    )
    return person


async def delete_person(session: AsyncSession, *, person: Person, actor: User) -> None:
    """Delete a person; 409 `person_has_credits` while a movie credits them."""
    if await repo.person_has_credits(session, person.id):
        raise Conflict(
            "The person is credited on movies; remove the credits first.", code="person_has_credits"
        )
    person_id = person.id
    await repo.delete_person(session, person_id)
    await log_action(
        session, action="person.deleted", actor_id=actor.id, subject_type="person", subject_id=person_id
    )


# Movies


@dataclass(frozen=True)
class MovieListQuery:
    """The movie list's filters, as given in the query string."""

    q: str | None = None
    genre: str | None = None
    status: MovieStatus | None = None
    language: str | None = None
    cinema_id: int | None = None
    day: date | None = None


def _check_runtime(minutes: int) -> None:
    if not MIN_RUNTIME <= minutes <= MAX_RUNTIME:
        raise Unprocessable(
            f"Runtime must be {MIN_RUNTIME} to {MAX_RUNTIME} minutes (got {minutes}).", code="invalid_runtime"
        )


async def _genres(session: AsyncSession, genre_ids: list[int]) -> list[int]:
    found = {g.id for g in await repo.get_genres(session, genre_ids)}
    missing = sorted(set(genre_ids) - found)
    if missing:
        raise Unprocessable(
            f"Unknown genre ids: {missing}.", code="unknown_genre", extra={"missing": missing}
        )
    return sorted(found)


async def _credits(session: AsyncSession, given: list[CreditIn]) -> list[dict[str, object]]:
    ids = [c.person_id for c in given]
    missing = sorted(set(ids) - await repo.existing_person_ids(session, ids))
    if missing:
        raise Unprocessable(
            f"Unknown person ids: {missing}.", code="unknown_person", extra={"missing": missing}
        )
    seen: set[tuple[int, str, str | None]] = set()
    rows: list[dict[str, object]] = []
    for index, c in enumerate(given):
        key = (c.person_id, c.role.value, c.character or None)
        if key in seen:
            raise Unprocessable(f"Credit {index + 1} repeats an earlier one.", code="duplicate_credit")
        seen.add(key)
        order = c.billing_order or index + 1
        rows.append(
            {"person_id": c.person_id, "role": c.role, "character": c.character, "billing_order": order}
        )
    return rows


async def get_movie(session: AsyncSession, *, movie_id: int, full: bool = False) -> Movie:
    """The movie (genres loaded; credits too with `full`), or 404."""
    movie = await repo.get_movie(session, movie_id, full=full)
    if movie is None:
        raise NotFound("No such movie.", code="movie_not_found")
    return movie


async def get_movie_for_edit(session: AsyncSession, *, movie_id: int, user: User) -> Movie:
    """The movie when `user` may edit it (admin, or the owner who created it); 404 otherwise."""
    movie = await repo.get_movie(session, movie_id)
    if movie is None or not can_edit(user, movie.created_by_id):
        raise NotFound("No such movie.", code="movie_not_found")
    return movie


async def create_movie(session: AsyncSession, *, data: MovieCreate, actor: User) -> Movie:
    """Add a movie with its genres and credits."""
    _check_runtime(data.runtime_minutes)
    genre_ids = await _genres(session, data.genre_ids)
    credit_rows = await _credits(session, data.credits)
    movie = Movie(
        title=data.title,
        title_search=normalise(data.title),
        synopsis=data.synopsis,
        runtime_minutes=data.runtime_minutes,
        release_date=data.release_date,
        certificate=data.certificate,
        original_language=data.original_language.lower(),
        production_company=data.production_company,
        poster_url=str(data.poster_url) if data.poster_url else None,
        trailer_url=str(data.trailer_url) if data.trailer_url else None,
        created_by_id=actor.id,
    )
    session.add(movie)
    await session.flush()
    await repo.set_movie_genres(session, movie.id, genre_ids)
    await repo.replace_credits(session, movie.id, credit_rows)
    await log_action(
        session, action="movie.created", actor_id=actor.id, subject_type="movie", subject_id=movie.id
    )
    return await get_movie(session, movie_id=movie.id, full=True)


async def update_movie(session: AsyncSession, *, movie: Movie, data: MovieUpdate, actor: User) -> Movie:
    """Change a movie; new genre or credit lists replace the old ones."""
    changes = data.model_dump(exclude_unset=True)
    if data.runtime_minutes is not None:
        _check_runtime(data.runtime_minutes)
        movie.runtime_minutes = data.runtime_minutes
    if data.title is not None:
        movie.title, movie.title_search = data.title, normalise(data.title)
    for field in ("synopsis", "certificate", "production_company"):
        value = getattr(data, field)
        if value is not None:
            setattr(movie, field, value)
    if data.original_language is not None:
        movie.original_language = data.original_language.lower()
    if "release_date" in changes:
        movie.release_date = data.release_date
    for field in ("poster_url", "trailer_url"):
        if field in changes:
            value = getattr(data, field)
            setattr(movie, field, str(value) if value else None)
    if data.genre_ids is not None:
        await repo.set_movie_genres(session, movie.id, await _genres(session, data.genre_ids))
    if data.credits is not None:
        await repo.replace_credits(session, movie.id, await _credits(session, data.credits))
    await session.flush()
    await log_action(
        session,
        action="movie.updated",
        actor_id=actor.id,
        subject_type="movie",
        subject_id=movie.id,
        data={"fields": sorted(changes)},
    )
    return await get_movie(session, movie_id=movie.id, full=True)


async def delete_movie(session: AsyncSession, *, movie: Movie, actor: User) -> None:
    """Delete a movie and its showtimes; 409 `has_bookings` when any showtime has sold or held seats."""
    if await showtime_repo.has_live_seats(session, now=utc_now(), movie_id=movie.id):
        raise Conflict("The movie has showtimes with sold or held seats.", code="has_bookings")
    movie_id = movie.id
    async with showtime_repo.still_referenced("movie"):
        await showtime_repo.delete_showtimes(session, movie_id=movie_id)
        await repo.delete_movie(session, movie_id)
    await log_action(
        session, action="movie.deleted", actor_id=actor.id, subject_type="movie", subject_id=movie_id
    )


async def list_movies(
    session: AsyncSession, *, query: MovieListQuery, sort: str, offset: int, limit: int
) -> tuple[list[tuple[Movie, MovieStatus]], int]:
    """One page of movies with their status, and the total."""
    genre_id: int | None = None
    if query.genre:
        genre = (
            await repo.get_genre(session, int(query.genre))
            if query.genre.isdigit() and int(query.genre) <= MAX_ID
            else await repo.find_genre(session, slug=slugify(query.genre))
        )
        if genre is None:
            return [], 0
        genre_id = genre.id
    windows = None
    if query.day is not None:
        timezones = await venue_repo.all_cinema_timezones(session)
        if query.cinema_id is not None:
            timezones = {k: v for k, v in timezones.items() if k == query.cinema_id}
        windows = local_day_windows(timezones, query.day)
    now = utc_now()
    filters = repo.MovieFilter(
        q=query.q,
        genre_id=genre_id,
        status=query.status,
        language=query.language,
        cinema_id=query.cinema_id,
        windows=windows,
        today=now.date(),
        now=now,
    )
    movies, total = await repo.list_movies(session, filters=filters, sort=sort, offset=offset, limit=limit)
    upcoming = await repo.movies_with_upcoming(session, [m.id for m in movies], now)
    today = now.date()
    return [(m, movie_status(m, has_upcoming=m.id in upcoming, today=today)) for m in movies], total


async def status_of(session: AsyncSession, *, movie: Movie) -> MovieStatus:
    """The movie's status now."""
    now = utc_now()
    upcoming = await repo.movies_with_upcoming(session, [movie.id], now)
    return movie_status(movie, has_upcoming=movie.id in upcoming, today=now.date())


async def showtimes_by_cinema(session: AsyncSession, *, movie_id: int) -> list[CinemaShowtimes]:
    """The movie's upcoming showtimes grouped by cinema and by day in the cinema's local time."""
    rows, _ = await showtime_repo.list_showtimes(session, movie_id=movie_id, after=utc_now(), limit=500)
    cinemas = await venue_repo.get_cinemas(session, [st.cinema_id for st, *_ in rows])
    groups: dict[int, dict[date, list[ShowtimeBrief]]] = {}
    for showtime, _title, screen_name, _cinema_name, timezone in rows:
        local = showtime.starts_at.astimezone(ZoneInfo(timezone))
        brief = ShowtimeBrief(
            id=showtime.id,
            screen_name=screen_name,
            starts_at=showtime.starts_at,
            starts_at_local=local,
            format=showtime.format,
            language=showtime.language,
            subtitles=showtime.subtitles,
        )
        groups.setdefault(showtime.cinema_id, {}).setdefault(local.date(), []).append(brief)
    result = []
    for cinema_id, days in groups.items():
        cinema = cinemas[cinema_id]
        result.append(
            CinemaShowtimes(
                cinema_id=cinema.id,
                cinema_name=cinema.name,
                city=cinema.city,
                timezone=cinema.timezone,
                days=[ShowtimeDay(date=day, showtimes=items) for day, items in sorted(days.items())],
            )
        )
    return sorted(result, key=lambda c: (c.city, c.cinema_name))
