"""Request and response bodies of genres, people and movies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from boxoffice.catalog.inputs import MAX_ID, CleanInput
from boxoffice.catalog.models import CreditRole

MovieStatus = Literal["coming_soon", "now_showing", "not_showing"]
MovieSort = Literal["title", "-title", "release_date", "-release_date", "runtime", "-runtime", "-created_at"]

Url = Annotated[AnyHttpUrl, Field(max_length=500)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Language = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
    ),
]


class GenreCreate(CleanInput):
    """A new genre."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class GenreUpdate(GenreCreate):
    """A genre's new name."""


class GenreRead(BaseModel):
    """A genre."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str


class PersonCreate(CleanInput):
    """A new actor, director or producer."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    bio: Annotated[str, StringConstraints(max_length=10_000)] = ""
    birth_date: date | None = None
    photo_url: Url | None = None


class PersonUpdate(CleanInput):
    """Changes to a person."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    bio: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    birth_date: date | None = None
    photo_url: Url | None = None


class PersonRead(BaseModel):
    """A person."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    bio: str
    birth_date: date | None
    photo_url: str | None
    created_by_id: int | None


class FilmographyEntry(BaseModel):
    """One of a person's credits."""

    movie_id: int
    title: str
    role: CreditRole
    character: str | None


class PersonDetail(PersonRead):
    """A person with their credits, newest movie first."""

    credits: list[FilmographyEntry]


class PersonBrief(BaseModel):
    """A person as shown in a credit."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    photo_url: str | None


class CreditIn(CleanInput):
    """A person's part in a movie."""

    person_id: int = Field(ge=1, le=MAX_ID)
    role: CreditRole
    character: Short | None = None
    billing_order: int = Field(default=0, ge=0, le=10_000)


class CreditRead(BaseModel):
    """A credit with its person."""

    person: PersonBrief
    role: CreditRole
    character: str | None
    billing_order: int


class MovieCreate(CleanInput):
    """A new movie. Runtime is checked by the service (422 `invalid_runtime` outside 1-600 minutes)."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    synopsis: Annotated[str, StringConstraints(max_length=10_000)] = ""
    runtime_minutes: int = Field(ge=-MAX_ID, le=MAX_ID, description="1 to 600 minutes")
    release_date: date | None = None
    certificate: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] = ""
    original_language: Language = "en"
    production_company: Short = ""
    poster_url: Url | None = None
    trailer_url: Url | None = None
    genre_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list, max_length=20)
    credits: list[CreditIn] = Field(default_factory=list, max_length=200)


class MovieUpdate(CleanInput):
    """Changes to a movie; `genre_ids` and `credits`, when given, replace the old lists."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = (
        None
    )
    synopsis: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    runtime_minutes: int | None = Field(default=None, ge=-MAX_ID, le=MAX_ID)
    release_date: date | None = None
    certificate: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None = None
    original_language: Language | None = None
    production_company: Short | None = None
    poster_url: Url | None = None
    trailer_url: Url | None = None
    genre_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(default=None, max_length=20)
    credits: list[CreditIn] | None = Field(default=None, max_length=200)


class MovieRead(BaseModel):
    """A movie as listed."""

    id: int
    title: str
    synopsis: str
    runtime_minutes: int
    release_date: date | None
    certificate: str
    original_language: str
    production_company: str
    poster_url: str | None
    trailer_url: str | None
    status: MovieStatus
    genres: list[GenreRead]
    created_by_id: int | None
    created_at: datetime


class ShowtimeBrief(BaseModel):
    """An upcoming showtime on a movie's page."""

    id: int
    screen_name: str
    starts_at: datetime
    starts_at_local: datetime
    format: str
    language: str
    subtitles: str | None


class ShowtimeDay(BaseModel):
    """A cinema's showtimes of one local day."""

    date: date
    showtimes: list[ShowtimeBrief]


class CinemaShowtimes(BaseModel):
    """A cinema and its upcoming showtimes of the movie, by local day."""

    cinema_id: int
    cinema_name: str
    city: str
    timezone: str
    days: list[ShowtimeDay]


class MovieDetail(MovieRead):
    """A movie with cast, crew and upcoming showtimes grouped by cinema and local day."""

    cast: list[CreditRead]
    crew: list[CreditRead]
    showtimes: list[CinemaShowtimes]
