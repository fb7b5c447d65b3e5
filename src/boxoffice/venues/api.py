"""JSON routes of cinemas and screens (reads are public; owners manage only their own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from boxoffice.accounts.deps import StaffUser
from boxoffice.catalog.inputs import MAX_ID, NO_NUL
from boxoffice.deps import SessionDep
from boxoffice.kit.pagination import Page, PageDep
from boxoffice.venues import service
from boxoffice.venues.models import Cinema, Screen
from boxoffice.venues.schemas import (
    CinemaCreate,
    CinemaRead,
    CinemaUpdate,
    ScreenCreate,
    ScreenDetail,
    ScreenRead,
    ScreenUpdate,
    SeatRead,
)

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]

router = APIRouter(tags=["venues"])

NO_CONTENT = status.HTTP_204_NO_CONTENT


def _cinema(cinema: Cinema, screens: int) -> CinemaRead:
    read = CinemaRead.model_validate(cinema)
    read.screen_count = screens
    return read


async def _screen_detail(session: SessionDep, screen: Screen) -> ScreenDetail:
    seats = await service.screen_seats(session, screen_id=screen.id)
    return ScreenDetail(
        **ScreenRead.model_validate(screen).model_dump(), seats=[SeatRead.model_validate(s) for s in seats]
    )


@router.get("/cinemas", response_model=Page[CinemaRead])
async def list_cinemas(
    session: SessionDep,
    page: PageDep,
    city: Annotated[str | None, Query(max_length=120, pattern=NO_NUL)] = None,
    owner_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[CinemaRead]:
    """Cinemas by name, optionally in one city or of one owner."""
    rows, total = await service.list_cinemas(
        session, city=city, owner_id=owner_id, offset=page.offset, limit=page.per_page
    )
    return Page(items=[_cinema(c, n) for c, n in rows], total=total, page=page.page, per_page=page.per_page)


@router.post("/cinemas", response_model=CinemaRead, status_code=status.HTTP_201_CREATED)
async def create_cinema(data: CinemaCreate, session: SessionDep, user: StaffUser) -> CinemaRead:
    """Create a cinema (owners own what they create); 422 `unknown_timezone`."""
    cinema = await service.create_cinema(session, data=data, actor=user)
    return _cinema(cinema, 0)


@router.get("/cinemas/{cinema_id}", response_model=CinemaRead)
async def get_cinema(cinema_id: PathId, session: SessionDep) -> CinemaRead:
    """One cinema with its screen count."""
    cinema = await service.get_cinema(session, cinema_id=cinema_id)
    return _cinema(cinema, await service.screen_count(session, cinema_id=cinema_id))


@router.patch("/cinemas/{cinema_id}", response_model=CinemaRead)
async def update_cinema(
    cinema_id: PathId, data: CinemaUpdate, session: SessionDep, user: StaffUser
) -> CinemaRead:
    """Change one of the caller's cinemas (another owner's answers 404)."""
    cinema = await service.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    cinema = await service.update_cinema(session, cinema=cinema, data=data, actor=user)
    return _cinema(cinema, await service.screen_count(session, cinema_id=cinema_id))


@router.delete("/cinemas/{cinema_id}", status_code=NO_CONTENT)
async def delete_cinema(cinema_id: PathId, session: SessionDep, user: StaffUser) -> Response:
    """Delete one of the caller's cinemas with its screens and showtimes; 409 `has_bookings`."""
    cinema = await service.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    await service.delete_cinema(session, cinema=cinema, actor=user)
    return Response(status_code=NO_CONTENT)


@router.get("/cinemas/{cinema_id}/screens", response_model=list[ScreenRead])
async def list_screens(cinema_id: PathId, session: SessionDep) -> list[ScreenRead]:
    """The cinema's screens with their layouts."""
    screens = await service.list_screens(session, cinema_id=cinema_id)
    return [ScreenRead.model_validate(s) for s in screens]


@router.post("/cinemas/{cinema_id}/screens", response_model=ScreenDetail, status_code=status.HTTP_201_CREATED)
async def create_screen(
    cinema_id: PathId, data: ScreenCreate, session: SessionDep, user: StaffUser
) -> ScreenDetail:
    """Add a screen to one of the caller's cinemas; 422 `invalid_layout` names the faulty row and column."""
    cinema = await service.get_cinema_for_staff(session, cinema_id=cinema_id, user=user)
    screen = await service.create_screen(session, cinema=cinema, data=data, actor=user)
    return await _screen_detail(session, screen)


@router.get("/screens/{screen_id}", response_model=ScreenDetail)
async def get_screen(screen_id: PathId, session: SessionDep) -> ScreenDetail:
    """One screen with every seat."""
    return await _screen_detail(session, await service.get_screen(session, screen_id=screen_id))


@router.patch("/screens/{screen_id}", response_model=ScreenDetail)
async def update_screen(
    screen_id: PathId, data: ScreenUpdate, session: SessionDep, user: StaffUser
) -> ScreenDetail:
    """Change a screen of the caller's cinemas; a new layout only while it has no showtimes."""
    screen, _ = await service.get_screen_for_staff(session, screen_id=screen_id, user=user)
    screen = await service.update_screen(session, screen=screen, data=data, actor=user)
    return await _screen_detail(session, screen)


@router.delete("/screens/{screen_id}", status_code=NO_CONTENT)
async def delete_screen(screen_id: PathId, session: SessionDep, user: StaffUser) -> Response:
    """Delete a screen and its showtimes; 409 `has_bookings` when tickets were sold."""
    screen, _ = await service.get_screen_for_staff(session, screen_id=screen_id, user=user)
    await service.delete_screen(session, screen=screen, actor=user)
    return Response(status_code=NO_CONTENT)
