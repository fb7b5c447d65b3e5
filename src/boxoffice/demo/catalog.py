"""Demo catalogue: three cinemas in three timezones, eight screens, 24 invented movies, a week of showtimes.

Idempotent: cinemas, screens, genres, people and movies are looked up by name before they are created,
and a showtime slot is only added when its screen is free then, so a second run adds nothing (a run on a
later day tops the week up). Inventory rows are bulk-inserted so the whole load takes a second or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Credit, CreditRole, Genre, Movie, Person, movie_genres
from boxoffice.catalog.text import normalise, slugify
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes.models import Showtime, ShowtimeSeat, ShowtimeStatus
from boxoffice.venues.layout import parse_layout, render_layout
from boxoffice.venues.models import Cinema, Screen, Seat

GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Science Fiction",
    "Thriller",
)


def _rows(seated: int, width: int, *, aisle: int = 0, kind: str = "A") -> list[str]:
    """`seated` rows of `width` seats, with an aisle after `aisle` seats on each side."""
    row = kind * width
    if aisle:
        row = kind * aisle + "_" + kind * (width - 2 * aisle) + "_" + kind * aisle
    return [row] * seated


def _access_row(width: int) -> str:
    middle = width - 6
    return "WC_" + "A" * middle + "_CW"


@dataclass(frozen=True)
class ScreenPlan:
    """A demo screen: name, formats and layout."""

    name: str
    formats: list[str]
    layout: list[str]


@dataclass(frozen=True)
class CinemaPlan:
    """A demo cinema and its screens."""

    name: str
    address: str
    city: str
    timezone: str
    currency: str
    prices: dict[str, int]
    owned_by_demo_owner: bool
    screens: list[ScreenPlan]


CINEMAS = [
    CinemaPlan(
        "Cinema Tejo",
        "Avenida da Liberdade 180",
        "Lisbon",
        "Europe/Lisbon",
        "EUR",
        {"standard": 850, "premium": 1150, "recliner": 1500, "wheelchair": 850, "companion": 850},
        True,
        [
            # the large premium format screen: 16 rows of 22, 352 seats
            ScreenPlan(
                "Sala 1 IMAX",
                ["IMAX", "IMAX 3D", "2D", "3D"],
                [
                    *_rows(3, 22, aisle=4),
                    _access_row(22),
                    *_rows(8, 22, aisle=4),
                    *_rows(4, 22, aisle=4, kind="P"),
                ],
            ),
            ScreenPlan("Sala 2", ["2D", "3D"], [_access_row(14), *_rows(9, 14, aisle=3)]),
            ScreenPlan("Sala 3 Lounge", ["2D", "Dolby Atmos"], ["WC_RRRR_CW", *(["RRRRRRRR"] * 4)]),
        ],
    ),
    CinemaPlan(
        "Hudson Picture House",
        "455 West 34th Street",
        "New York",
        "America/New_York",
        "USD",
        {"standard": 1600, "premium": 2100, "recliner": 2600, "wheelchair": 1600, "companion": 1600},
        True,
        [
            ScreenPlan(
                "Screen 1 Dolby",
                ["Dolby Cinema", "2D", "3D"],
                [
                    *_rows(4, 18, aisle=3),
                    _access_row(18),
                    *_rows(5, 18, aisle=3, kind="P"),
                    *_rows(2, 18, aisle=3, kind="R"),
                ],
            ),
            ScreenPlan("Screen 2", ["2D"], ["__AAAAAAAAAA__", *_rows(7, 14), _access_row(14)]),
            ScreenPlan("Screen 3", ["2D", "3D"], [*_rows(6, 10), "WC_AAAA_CW"]),
        ],
    ),
    CinemaPlan(
        "Sakura Cinema Shinjuku",
        "3-15-15 Shinjuku",
        "Tokyo",
        "Asia/Tokyo",
        "JPY",
        {"standard": 1900, "premium": 2500, "recliner": 3200, "wheelchair": 1000, "companion": 1000},
        False,
        [
            ScreenPlan(
                "Theater 1 IMAX",
                ["IMAX", "IMAX 3D", "2D"],
                [
                    *_rows(5, 20, aisle=4),
                    _access_row(20),
                    *_rows(6, 20, aisle=4),
                    *_rows(2, 20, aisle=4, kind="P"),
                ],
            ),
            ScreenPlan("Theater 2 4DX", ["4DX", "3D", "2D"], [*_rows(6, 12, aisle=2), "WC_AAAAAA_CW"]),
        ],
    ),
]

_FIRST_NAMES = """
Maya Ivo Lena Tomas Aiko Rafael Noor Elias Sofia Kenji Amara Luca Ines Oskar Yara Mateo
Hana Felix Clara Dmitri
"""
_LAST_NAMES = """
Costa Brandt Okafor Lindqvist Moreau Tanaka Silva Novak Haddad Reyes Kowalski Bauer
Ferreira Nakamura Adeyemi Larsen Duarte Ishikawa
"""
FIRST = _FIRST_NAMES.split()
LAST = _LAST_NAMES.split()
COMPANIES = (
    "Lantern Bay Pictures",
    "Northlight Studios",
    "Paper Crane Films",
    "Red Meridian",
    "Saltwater Films",
)

# title | runtime | certificate | language | genres | days from today to release (negative: out),
# then the synopsis on the next line
_MOVIE_TABLE = """
The Lighthouse Keeper|118|PG-13|en|Drama,Mystery|-40
    A keeper on a remote island finds a logbook written in her own hand, dated next winter.
Orbit of Small Things|131|PG-13|en|Science Fiction,Adventure|-21
    Two engineers race a failing space station's clock with duct tape, algebra and an old cassette.
Paper Crane Express|96|U|ja|Animation,Family|-30
    A folded crane carries a girl's wish across Japan on the last night train of the season.
Midnight at the Alfama|104|M/12|pt|Romance,Musical|-14
    A fado singer and a night-shift tram driver share one song and every night of a Lisbon summer.
Cold Harbour|127|R|en|Thriller|-10
    A customs officer opens the wrong container and inherits a very patient enemy.
The Salt Road|142|PG-13|en|Adventure,Drama|-60
    Three generations of salt traders cross a desert that keeps moving its own roads.
Grandma Goes Viral|92|PG|en|Comedy,Family|-7
    A retired judge accidentally becomes the internet's favourite cooking star.
Hollow Pines|101|R|en|Horror|-5
    The new cabin has one more room at night than it has by day.
Kitchen of the Eighth Moon|110|G|ja|Drama,Family|-45
    A Kyoto noodle shop keeps a table for a customer who has not come back in thirty years.
Parallel Lines|115|PG-13|en|Science Fiction,Thriller|-3
    A railway signaller starts receiving warnings from trains that have not been built.
The Cartographer's Daughter|124|PG|en|Adventure,Fantasy|-25
    Every map her father drew is coming true, including the one he never finished.
Deep Blue Quiet|88|U|en|Documentary|-50
    A year with the whales of the Azores, recorded by the hydrophones that hear them.
Neon Samurai|121|R|ja|Action|-12
    A retired bodyguard protects a hacker across one very long night in Shinjuku.
Saudade|99|M/14|pt|Drama,Romance|-35
    Letters from a Porto emigrant arrive forty years late, and his granddaughter answers them.
Clockwork Garden|94|PG|en|Animation,Fantasy|-18
    A broken automaton gardener tries to grow the flower that will fix its heart.
Last Call at the Blue Note|113|R|en|Drama,Musical|-9
    A jazz club's final week, told one set at a time.
Operation Teacup|98|PG|en|Comedy,Action|-4
    Two rival grannies become accidental spies at a seaside bowls tournament.
The Ninth Floor|106|R|en|Horror,Mystery|-2
    The lift in the old hotel stops at a floor the building does not have.
Tidewater|119|PG-13|en|Drama|-28
    A fishing town votes on whether to let the sea take it back.
Iron Meridian|139|PG-13|en|Action,Science Fiction|-16
    A mech pilot deserts to protect the city she was built to flatten.
Starlight Bakery|90|U|en|Animation,Comedy,Family|12
    A raccoon opens a bakery that only serves customers after midnight.
The Long Winter of Anna K.|134|M/12|en|Drama,Romance|20
    A mathematician and a cellist are snowed in at a border station for one winter.
Echo Protocol|126|R|en|Thriller,Science Fiction|33
    An AI negotiator is asked to talk itself out of a hostage situation it caused.
Festival of Lanterns|102|G|ja|Family,Fantasy|45
    A boy follows a lantern upstream to the village where the river begins.
"""


@dataclass(frozen=True)
class MoviePlan:
    """A demo movie."""

    title: str
    runtime: int
    certificate: str
    language: str
    genres: tuple[str, ...]
    release_in_days: int
    synopsis: str


def _movie_plans() -> list[MoviePlan]:
    lines = _MOVIE_TABLE.strip().splitlines()
    plans = []
    for head, synopsis in zip(lines[::2], lines[1::2], strict=True):
        title, runtime, cert, lang, genres, release = head.split("|")
        plans.append(
            MoviePlan(
                title, int(runtime), cert, lang, tuple(genres.split(",")), int(release), synopsis.strip()
            )
        )
    return plans


MOVIES = _movie_plans()
SLOTS = (time(10, 30), time(13, 30), time(16, 45), time(20, 0))  # a movie plus cleaning fits in each gap
DAYS = 7


async def _genres(session: AsyncSession) -> dict[str, int]:
    existing = {g.name: g.id for g in await session.scalars(select(Genre))}
    for name in GENRES:
        if name not in existing:
            genre = Genre(name=name, slug=slugify(name))
            session.add(genre)
            await session.flush()
            existing[name] = genre.id
    return existing


async def _people(session: AsyncSession, admin_id: int | None) -> list[int]:
    existing = {p.name: p.id for p in await session.scalars(select(Person))}
    ids = []
    for i in range(40):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        if name not in existing:
            person = Person(
                name=name,
                name_search=normalise(name),
                bio=f"{name} has worked in film and theatre for {5 + i % 20} years.",
                birth_date=date(1950 + (i * 3) % 50, 1 + i % 12, 1 + (i * 5) % 28),
                created_by_id=admin_id,
            )
            session.add(person)
            await session.flush()
            existing[name] = person.id
        ids.append(existing[name])
    return ids


async def _movies(
    session: AsyncSession, *, admin_id: int | None, genres: dict[str, int], people: list[int]
) -> list[Movie]:
    existing = {m.title: m for m in await session.scalars(select(Movie))}
    today = utc_now().date()
    movies = []
    for index, plan in enumerate(MOVIES):
        movie = existing.get(plan.title)
        if movie is None:
            movie = Movie(
                title=plan.title,
                title_search=normalise(plan.title),
                synopsis=plan.synopsis,
                runtime_minutes=plan.runtime,
                release_date=today + timedelta(days=plan.release_in_days),
                certificate=plan.certificate,
                original_language=plan.language,
                production_company=COMPANIES[index % len(COMPANIES)],
                created_by_id=admin_id,
            )
            session.add(movie)
            await session.flush()
            movie.poster_url = f"/api/v1/movies/{movie.id}/poster.svg"
            await session.execute(
                insert(movie_genres), [{"movie_id": movie.id, "genre_id": genres[g]} for g in plan.genres]
            )
            await session.execute(insert(Credit), _credits(movie.id, index, people))
        movies.append(movie)
    await session.flush()
    return movies


def _credits(movie_id: int, index: int, people: list[int]) -> list[dict[str, Any]]:
    pick = [people[(index * 5 + k) % len(people)] for k in range(6)]
    roles = [
        (CreditRole.director, None),
        (CreditRole.producer, None),
        (CreditRole.actor, "The lead"),
        (CreditRole.actor, "The friend"),
        (CreditRole.actor, "The stranger"),
        (CreditRole.actor, "The rival"),
    ]
    return [
        {
            "movie_id": movie_id,
            "person_id": pid,
            "role": role,
            "character": character,
            "billing_order": order + 1,
        }
        for order, (pid, (role, character)) in enumerate(zip(pick, roles, strict=True))
    ]


async def _venues(
    session: AsyncSession, owner_id: int | None
) -> list[tuple[CinemaPlan, Cinema, list[Screen]]]:
    result = []
    for plan in CINEMAS:
        cinema = (await session.scalars(select(Cinema).where(Cinema.name == plan.name))).first()
        if cinema is None:
            cinema = Cinema(
                name=plan.name,
                address=plan.address,
                city=plan.city,
                timezone=plan.timezone,
                owner_id=owner_id if plan.owned_by_demo_owner else None,
            )
            session.add(cinema)
            await session.flush()
        screens = []
        for sp in plan.screens:
            screen = (
                await session.scalars(
                    select(Screen).where(Screen.cinema_id == cinema.id, Screen.name == sp.name)
                )
            ).first()
            if screen is None:
                specs = parse_layout(sp.layout)
                screen = Screen(
                    cinema_id=cinema.id,
                    name=sp.name,
                    formats=sp.formats,
                    layout=render_layout(specs),
                    seat_count=len(specs),
                )
                session.add(screen)
                await session.flush()
                await session.execute(
                    insert(Seat),
                    [
                        {
                            "screen_id": screen.id,
                            "row": s.row,
                            "number": s.number,
                            "x": s.x,
                            "y": s.y,
                            "type": s.type,
                        }
                        for s in specs
                    ],
                )
            screens.append(screen)
        result.append((plan, cinema, screens))
    return result


async def _showtimes(
    session: AsyncSession,
    *,
    venues: list[tuple[CinemaPlan, Cinema, list[Screen]]],
    movies: list[Movie],
    admin_id: int | None,
) -> int:
    now = utc_now()
    showing = [m for m in movies if m.release_date is not None and m.release_date <= now.date()]
    planned: list[tuple[Showtime, CinemaPlan, list[Seat]]] = []
    for c_index, (plan, cinema, screens) in enumerate(venues):
        tz = ZoneInfo(cinema.timezone)
        local_today = now.astimezone(tz).date()
        for s_index, screen in enumerate(screens):
            seats = list(await session.scalars(select(Seat).where(Seat.screen_id == screen.id)))
            taken = [
                (st.starts_at, st.ends_at)
                for st in await session.scalars(
                    select(Showtime).where(
                        Showtime.screen_id == screen.id,
                        Showtime.status == ShowtimeStatus.scheduled,
                        Showtime.ends_at > now,
                    )
                )
            ]
            for day in range(DAYS):
                for slot_index, slot in enumerate(SLOTS):
                    starts = datetime.combine(local_today + timedelta(days=day), slot, tzinfo=tz).astimezone(
                        ZoneInfo("UTC")
                    )
                    movie = showing[(c_index * 7 + s_index * 3 + day + slot_index * 5) % len(showing)]
                    ends = starts + timedelta(minutes=movie.runtime_minutes + cinema.cleaning_minutes)
                    if starts <= now + timedelta(minutes=10) or any(
                        a < ends and b > starts for a, b in taken
                    ):
                        continue
                    showtime = _showtime(plan, cinema, screen, movie, starts, ends, len(seats), admin_id)
                    planned.append((showtime, plan, seats))
                    taken.append((starts, ends))
    # one flush for every showtime, one statement for every seat row: the whole week in a second or two
    session.add_all([showtime for showtime, _, _ in planned])
    await session.flush()
    rows = [
        {
            "showtime_id": showtime.id,
            "seat_id": s.id,
            "row": s.row,
            "number": s.number,
            "x": s.x,
            "y": s.y,
            "seat_type": s.type.value,
            "price": plan.prices[s.type.value],
            "status": "available",
            "version": 0,
        }
        for showtime, plan, seats in planned
        for s in seats
    ]
    if rows:
        await session.execute(insert(cast(Table, ShowtimeSeat.__table__)), rows)  # Core: no ORM bookkeeping
    return len(planned)


def _showtime(
    plan: CinemaPlan,
    cinema: Cinema,
    screen: Screen,
    movie: Movie,
    starts: datetime,
    ends: datetime,
    seat_count: int,
    admin_id: int | None,
) -> Showtime:
    return Showtime(
        movie_id=movie.id,
        screen_id=screen.id,
        cinema_id=cinema.id,
        starts_at=starts,
        ends_at=ends,
        format=screen.formats[0],
        language=movie.original_language,
        subtitles="en" if movie.original_language != "en" else None,
        prices=dict(plan.prices),
        currency=plan.currency,
        sales_close_at=starts,
        status=ShowtimeStatus.scheduled,
        seats_total=seat_count,
        created_by_id=admin_id,
    )


async def load_catalog(session: AsyncSession, *, admin: User | None, owner: User | None) -> str:
    """Create (or top up) the demo catalogue; returns a one-line summary."""
    admin_id = admin.id if admin else None
    genres = await _genres(session)
    people = await _people(session, admin_id)
    movies = await _movies(session, admin_id=admin_id, genres=genres, people=people)
    venues = await _venues(session, owner.id if owner else None)
    created = await _showtimes(session, venues=venues, movies=movies, admin_id=admin_id)
    await session.flush()
    screens = sum(len(s) for _, _, s in venues)
    return (
        f"catalogue: {len(venues)} cinemas, {screens} screens, {len(movies)} movies, {created} new showtimes"
    )
