"""Rules for cinemas and screens: who may manage them, timezones, formats and seat layouts."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import Role, User
from boxoffice.audit.service import log_action
from boxoffice.errors import Conflict, Forbidden, NotFound, Unprocessable
from boxoffice.kit.clock import utc_now
from boxoffice.showtimes import repository as showtime_repo
from boxoffice.venues import repository as repo
from boxoffice.venues.layout import SeatSpec, parse_layout, render_layout, seats_from_list
from boxoffice.venues.models import Cinema, Screen, Seat
from boxoffice.venues.schemas import FORMATS, CinemaCreate, CinemaUpdate, ScreenCreate, ScreenUpdate, SeatIn

_FORMATS_BY_KEY = {f.casefold(): f for f in FORMATS}


def check_timezone(name: str) -> str:
    """The IANA timezone `name`, or 422 `unknown_timezone`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            f"{name!r} is not an IANA timezone (e.g. Europe/Lisbon).", code="unknown_timezone"
        ) from None
    return name


def check_formats(formats: list[str]) -> list[str]:
    """The formats in their canonical spelling, without duplicates; 422 `unknown_format` otherwise."""
    result: list[str] = []
    for value in formats:
        canonical = _FORMATS_BY_KEY.get(value.strip().casefold())
        if canonical is None:
            raise Unprocessable(
                f"Unknown format {value!r}; known formats: {', '.join(FORMATS)}.", code="unknown_format"
            )
        if canonical not in result:
            result.append(canonical)
    return result


def can_manage(user: User, cinema: Cinema) -> bool:
    """Admins manage every cinema; owners only their own."""
    return user.role == Role.admin or (user.role == Role.owner and cinema.owner_id == user.id)


async def get_cinema(session: AsyncSession, *, cinema_id: int) -> Cinema:
    """The cinema, or 404."""
    cinema = await repo.get_cinema(session, cinema_id)
    if cinema is None:
        raise NotFound("No such cinema.", code="cinema_not_found")
    return cinema


async def get_cinema_for_staff(session: AsyncSession, *, cinema_id: int, user: User) -> Cinema:
    """The cinema when `user` may manage it; 404 otherwise (another owner's cinema stays invisible)."""
    cinema = await repo.get_cinema(session, cinema_id)
    if cinema is None or not can_manage(user, cinema):
        raise NotFound("No such cinema.", code="cinema_not_found")
    return cinema


async def list_cinemas(
    session: AsyncSession, *, city: str | None, owner_id: int | None, offset: int, limit: int
) -> tuple[list[tuple[Cinema, int]], int]:
    """One page of cinemas with their screen counts, and the total."""
    cinemas, total = await repo.list_cinemas(
        session, city=city, owner_id=owner_id, offset=offset, limit=limit
    )
    counts = await repo.screen_counts(session, [c.id for c in cinemas])
    return [(c, counts.get(c.id, 0)) for c in cinemas], total


async def list_screens(session: AsyncSession, *, cinema_id: int) -> list[Screen]:
    """The cinema's screens by name; 404 when the cinema does not exist."""
    await get_cinema(session, cinema_id=cinema_id)
    return await repo.list_screens(session, cinema_id=cinema_id)


async def screen_count(session: AsyncSession, *, cinema_id: int) -> int:
    """How many screens the cinema has."""
    return (await repo.screen_counts(session, [cinema_id])).get(cinema_id, 0)


async def _check_owner(session: AsyncSession, owner_id: int) -> None:
    owner = await session.get(User, owner_id)
    if owner is None or owner.role not in (Role.owner, Role.admin):
        raise Unprocessable("The owner must be an existing owner or admin account.", code="invalid_owner")


async def create_cinema(session: AsyncSession, *, data: CinemaCreate, actor: User) -> Cinema:
    """Create a cinema; an owner owns what it creates, an admin may name the owner."""
    check_timezone(data.timezone)
    owner_id = actor.id
    if actor.role == Role.admin and data.owner_id is not None:
        await _check_owner(session, data.owner_id)
        owner_id = data.owner_id
    cinema = Cinema(
        name=data.name,
        address=data.address,
        city=data.city,
        timezone=data.timezone,
        cleaning_minutes=data.cleaning_minutes,
        owner_id=owner_id,
    )
    session.add(cinema)
    await session.flush()
    await log_action(
        session, action="cinema.created", actor_id=actor.id, subject_type="cinema", subject_id=cinema.id
    )
    return cinema


async def update_cinema(session: AsyncSession, *, cinema: Cinema, data: CinemaUpdate, actor: User) -> Cinema:
    """Change a cinema; only an admin may hand it to another owner."""
    changes = data.model_dump(exclude_unset=True)
    if "timezone" in changes and changes["timezone"] is not None:
        check_timezone(changes["timezone"])
    if "owner_id" in changes:
        if actor.role != Role.admin:
            raise Forbidden("Only an admin may change a cinema's owner.", code="owner_change_forbidden")
        if changes["owner_id"] is not None:
            await _check_owner(session, changes["owner_id"])
    for field, value in changes.items():
        if value is not None or field == "owner_id":
            setattr(cinema, field, value)
    await session.flush()
    await log_action(
        session,
        action="cinema.updated",
        actor_id=actor.id,
        subject_type="cinema",
        subject_id=cinema.id,
        data={"fields": sorted(changes)},
    )
    return cinema


async def delete_cinema(session: AsyncSession, *, cinema: Cinema, actor: User) -> None:
    """Delete a cinema, its screens and their showtimes; 409 `has_bookings` when tickets were sold."""
    if await showtime_repo.has_live_seats(session, now=utc_now(), cinema_id=cinema.id):
        raise Conflict("The cinema has showtimes with sold or held seats.", code="has_bookings")
    async with showtime_repo.still_referenced("cinema"):
        for screen in await repo.list_screens(session, cinema_id=cinema.id):
            await showtime_repo.delete_showtimes(session, screen_id=screen.id)
            await repo.delete_screen(session, screen.id)
        await repo.delete_cinema(session, cinema.id)
    await log_action(
        session, action="cinema.deleted", actor_id=actor.id, subject_type="cinema", subject_id=cinema.id
    )


def _specs(layout: list[str] | None, seats: list[SeatIn] | None) -> list[SeatSpec]:
    if layout is not None:
        return parse_layout(layout)
    assert seats is not None
    return seats_from_list([SeatSpec(row=s.row, number=s.number, x=s.x, y=s.y, type=s.type) for s in seats])


def _seats(screen_id: int, specs: list[SeatSpec]) -> list[Seat]:
    return [Seat(screen_id=screen_id, row=s.row, number=s.number, x=s.x, y=s.y, type=s.type) for s in specs]


async def _check_name_free(
    session: AsyncSession, *, cinema_id: int, name: str, screen_id: int | None
) -> None:
    other = await repo.find_screen_by_name(session, cinema_id=cinema_id, name=name)
    if other is not None and other.id != screen_id:
        raise Conflict(f"The cinema already has a screen called {name!r}.", code="screen_name_taken")


async def create_screen(session: AsyncSession, *, cinema: Cinema, data: ScreenCreate, actor: User) -> Screen:
    """Create a screen and its seats from a text layout or a seat list."""
    formats = check_formats(data.formats)
    specs = _specs(data.layout, data.seats)
    await _check_name_free(session, cinema_id=cinema.id, name=data.name, screen_id=None)
    screen = Screen(
        cinema_id=cinema.id,
        name=data.name,
        formats=formats,
        layout=render_layout(specs),
        seat_count=len(specs),
    )
    session.add(screen)
    await session.flush()
    session.add_all(_seats(screen.id, specs))
    await session.flush()
    await log_action(
        session,
        action="screen.created",
        actor_id=actor.id,
        subject_type="screen",
        subject_id=screen.id,
        data={"cinema_id": cinema.id, "seats": len(specs)},
    )
    return screen


async def get_screen(session: AsyncSession, *, screen_id: int) -> Screen:
    """The screen, or 404."""
    screen = await repo.get_screen(session, screen_id)
    if screen is None:
        raise NotFound("No such screen.", code="screen_not_found")
    return screen


async def get_screen_for_staff(session: AsyncSession, *, screen_id: int, user: User) -> tuple[Screen, Cinema]:
    """The screen and its cinema when `user` may manage them; 404 otherwise."""
    screen = await repo.get_screen(session, screen_id)
    cinema = None if screen is None else await repo.get_cinema(session, screen.cinema_id)
    if screen is None or cinema is None or not can_manage(user, cinema):
        raise NotFound("No such screen.", code="screen_not_found")
    return screen, cinema


async def screen_seats(session: AsyncSession, *, screen_id: int) -> list[Seat]:
    """The screen's seats, front row first."""
    return await repo.seats_of_screen(session, screen_id)


async def update_screen(session: AsyncSession, *, screen: Screen, data: ScreenUpdate, actor: User) -> Screen:
    """Rename a screen, change its formats, or (while it has no showtimes) give it a new layout."""
    if data.name is not None:
        await _check_name_free(session, cinema_id=screen.cinema_id, name=data.name, screen_id=screen.id)
        screen.name = data.name
    if data.formats is not None:
        screen.formats = check_formats(data.formats)
    if data.layout is not None or data.seats is not None:
        specs = _specs(data.layout, data.seats)
        showtimes, _ = await showtime_repo.list_showtimes(
            session, screen_id=screen.id, include_cancelled=True, limit=1
        )
        if showtimes:
            raise Conflict("The screen has showtimes; its layout can no longer change.", code="screen_in_use")
        await repo.delete_seats(session, screen.id)
        session.add_all(_seats(screen.id, specs))
        screen.layout = render_layout(specs)
        screen.seat_count = len(specs)
    await session.flush()
    await log_action(
        session, action="screen.updated", actor_id=actor.id, subject_type="screen", subject_id=screen.id
    )
    return screen


async def delete_screen(session: AsyncSession, *, screen: Screen, actor: User) -> None:
    """Delete a screen and its showtimes; 409 `has_bookings` when tickets were sold."""
    if await showtime_repo.has_live_seats(session, now=utc_now(), screen_id=screen.id):
        raise Conflict("The screen has showtimes with sold or held seats.", code="has_bookings")
    async with showtime_repo.still_referenced("screen"):
        await showtime_repo.delete_showtimes(session, screen_id=screen.id)
        await repo.delete_screen(session, screen.id)
    await log_action(
        session, action="screen.deleted", actor_id=actor.id, subject_type="screen", subject_id=screen.id
    )
