"""JSON routes of showtimes, seat maps and best available seats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.deps import OptionalUser, StaffUser, carries_credentials
from boxoffice.catalog.inputs import MAX_ID, NO_NUL
from boxoffice.deps import SessionDep, SettingsDep
from boxoffice.kit.money import Money
from boxoffice.kit.pagination import Page, PageDep, PageParams
from boxoffice.showtimes import service
from boxoffice.showtimes.cache_first import CacheFirstRoute, RawResponse, cache_first, json_response
from boxoffice.showtimes.listing_cache import listing_cache
from boxoffice.showtimes.models import Showtime
from boxoffice.showtimes.schemas import (
    BestBlock,
    BestSeatRead,
    SeatMap,
    ShowtimeCreate,
    ShowtimeRead,
    ShowtimeUpdate,
)
from boxoffice.showtimes.seatmap import anonymous_seat_map, build_seat_map, has_own_seats
from boxoffice.showtimes.seatmap_cache import seat_map_cache
from boxoffice.venues.models import SeatType

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]

router = APIRouter(tags=["showtimes"], route_class=CacheFirstRoute)


def _read(
    showtime: Showtime,
    *,
    movie_title: str,
    cinema_name: str,
    screen_name: str,
    timezone: str,
    seats_available: int | None = None,
) -> ShowtimeRead:
    tz = ZoneInfo(timezone)

    def local(moment: datetime) -> datetime:
        return moment.astimezone(tz)

    return ShowtimeRead(
        id=showtime.id,
        movie_id=showtime.movie_id,
        movie_title=movie_title,
        cinema_id=showtime.cinema_id,
        cinema_name=cinema_name,
        screen_id=showtime.screen_id,
        screen_name=screen_name,
        timezone=timezone,
        starts_at=showtime.starts_at,
        starts_at_local=local(showtime.starts_at),
        ends_at=showtime.ends_at,
        ends_at_local=local(showtime.ends_at),
        format=showtime.format,
        language=showtime.language,
        subtitles=showtime.subtitles,
        prices={k: Money(amount=v, currency=showtime.currency) for k, v in showtime.prices.items()},
        sales_close_at=showtime.sales_close_at,
        status=showtime.status,
        seats_total=showtime.seats_total,
        seats_available=seats_available,
    )


def _from_context(ctx: service.ShowtimeContext, seats_available: int | None = None) -> ShowtimeRead:
    return _read(
        ctx.showtime,
        movie_title=ctx.movie.title,
        cinema_name=ctx.cinema.name,
        screen_name=ctx.screen.name,
        timezone=ctx.cinema.timezone,
        seats_available=seats_available,
    )


def _cached_listing(request: Request) -> Response | None:
    """The cached listing for exactly this query string, or None (FastAPI then runs `list_showtimes`)."""
    body = listing_cache(request.app).peek(request.scope["query_string"])
    return None if body is None else json_response(body)


@router.get("/showtimes", response_model=Page[ShowtimeRead])
@cache_first(_cached_listing)
async def list_showtimes(
    request: Request,
    session: SessionDep,
    page: PageDep,
    cinema_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    movie_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    day: Annotated[date | None, Query(alias="date", description="a day in each cinema's local time")] = None,
    fmt: Annotated[str | None, Query(alias="format", max_length=32, pattern=NO_NUL)] = None,
    language: Annotated[str | None, Query(max_length=16, pattern=NO_NUL)] = None,
) -> Response:
    """Scheduled showtimes: upcoming ones, or those of `date`; filter by cinema, movie, format, language."""

    async def build() -> bytes:
        listing = await _listing(session, page, cinema_id, movie_id, day, fmt, language)
        return listing.model_dump_json().encode()

    # Public: the same for everyone. Kept under the raw query string, which is what `_cached_listing`
    # can look up before FastAPI parses it.
    body = await listing_cache(request.app).get(request.scope["query_string"], build)
    return json_response(body)


async def _listing(
    session: AsyncSession,
    page: PageParams,
    cinema_id: int | None,
    movie_id: int | None,
    day: date | None,
    fmt: str | None,
    language: str | None,
) -> Page[ShowtimeRead]:
    rows, total, available = await service.list_showtimes(
        session,
        cinema_id=cinema_id,
        movie_id=movie_id,
        day=day,
        fmt=fmt,
        language=language,
        offset=page.offset,
        limit=page.per_page,
    )
    items = [
        _read(
            st,
            movie_title=title,
            screen_name=screen,
            cinema_name=cinema,
            timezone=tz,
            seats_available=available.get(st.id, 0),
        )
        for st, title, screen, cinema, tz in rows
    ]
    return Page(items=items, total=total, page=page.page, per_page=page.per_page)


IfNoneMatch = Annotated[str | None, Header(max_length=200)]
_SEAT_MAP_HEADERS = [(b"cache-control", b"no-cache"), (b"vary", b"Authorization, Cookie")]


def _cached_seat_map(request: Request) -> Response | None:
    """The cached public map for an anonymous caller, or None (FastAPI then runs `seat_map`).

    Only a plain request is answered here: no credentials, the id in canonical decimal form (entries are
    kept under ids FastAPI validated), an If-None-Match that FastAPI accepts."""
    raw_id: str = request.path_params.get("showtime_id", "")
    if not (raw_id.isascii() and raw_id.isdigit() and raw_id[0] != "0" and len(raw_id) <= 10):
        return None
    if_none_match = request.headers.get("if-none-match")
    if (if_none_match is not None and len(if_none_match) > 200) or carries_credentials(request):
        return None
    cached = seat_map_cache(request.app).peek(int(raw_id))
    if cached is None:
        return None
    etag, body = cached
    return _seat_map_response(etag, None if _names(if_none_match, etag) else body)


@router.get(
    "/showtimes/{showtime_id}/seats",
    response_model=SeatMap,
    responses={304: {"description": "The seat map has not changed since the given ETag."}},
)
@cache_first(_cached_seat_map)
async def seat_map(
    showtime_id: PathId,
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Every seat with its status and price, counts per status, and an ETag (304 when unchanged).

    Signed in, the seats the caller holds or bought are marked `mine`."""
    # The public map comes from the per-process cache that seat events invalidate (seatmap_cache.py).
    # A signed-in caller without a seat here gets it too (theirs would be identical, `mine` all false);
    # only a caller with seats of their own gets a map built for them alone, with its own ETag.
    if user is None or not await has_own_seats(session, showtime_id=showtime_id, user_id=user.id):
        etag, body = await seat_map_cache(request.app).get(
            showtime_id, lambda: anonymous_seat_map(session, showtime_id=showtime_id)
        )
        return _seat_map_response(etag, None if _names(if_none_match, etag) else body)
    answer = await build_seat_map(
        session, showtime_id=showtime_id, user_id=user.id, if_none_match=if_none_match
    )
    if answer is None:  # If-None-Match named the current version of the caller's map
        return _seat_map_response(if_none_match or "", None)
    return _seat_map_response(answer.etag, orjson.dumps(answer.body))


def _names(if_none_match: str | None, etag: str) -> bool:
    """True when the If-None-Match header lists `etag`."""
    return bool(if_none_match) and etag in {tag.strip() for tag in (if_none_match or "").split(",")}


def _seat_map_response(etag: str, body: bytes | None) -> Response:
    """200 with the map, or 304 Not Modified when `body` is None."""
    headers = [*_SEAT_MAP_HEADERS, (b"etag", etag.encode("latin-1"))]
    if body is None:
        return RawResponse(b"", status.HTTP_304_NOT_MODIFIED, headers)
    return json_response(body, headers)


@router.post("/showtimes", response_model=ShowtimeRead, status_code=status.HTTP_201_CREATED)
async def create_showtime(
    data: ShowtimeCreate, session: SessionDep, user: StaffUser, settings: SettingsDep
) -> ShowtimeRead:
    """Schedule a movie on one of the caller's screens; 409 `screen_busy` when it overlaps another."""
    ctx = await service.create_showtime(
        session, data=data, actor=user, default_sales_close_minutes=settings.sales_close_minutes
    )
    return _from_context(ctx, seats_available=ctx.showtime.seats_total)


@router.get("/showtimes/{showtime_id}", response_model=ShowtimeRead)
async def get_showtime(showtime_id: PathId, session: SessionDep) -> ShowtimeRead:
    """One showtime with its seats still for sale."""
    ctx = await service.load_showtime_context(session, showtime_id=showtime_id)
    return _from_context(ctx, await service.seats_available(session, showtime_id=showtime_id))


@router.patch("/showtimes/{showtime_id}", response_model=ShowtimeRead)
async def update_showtime(
    showtime_id: PathId, data: ShowtimeUpdate, session: SessionDep, user: StaffUser
) -> ShowtimeRead:
    """Change a showtime of the caller's cinemas."""
    showtime = await service.get_showtime_for_staff(session, showtime_id=showtime_id, user=user)
    ctx = await service.update_showtime(session, showtime=showtime, data=data, actor=user)
    return _from_context(ctx)


@router.delete("/showtimes/{showtime_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_showtime(showtime_id: PathId, session: SessionDep, user: StaffUser) -> Response:
    """Delete a showtime without sold or held seats; 409 `has_bookings` otherwise."""
    showtime = await service.get_showtime_for_staff(session, showtime_id=showtime_id, user=user)
    await service.delete_showtime(session, showtime=showtime, actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/showtimes/{showtime_id}/seats/best", response_model=BestBlock)
async def best_seats(
    showtime_id: PathId,
    session: SessionDep,
    count: Annotated[int, Query(ge=1, le=20)],
    accessible: bool = False,
) -> BestBlock:
    """The best free block of `count` seats together; 409 `no_block_available` when none fits."""
    ctx = await service.load_showtime_context(session, showtime_id=showtime_id)
    block = await service.find_best_seats(
        session, showtime_id=showtime_id, count=count, accessible=accessible
    )
    currency = ctx.showtime.currency
    prices = ctx.showtime.prices
    seats = [
        BestSeatRead(
            seat_id=s.seat_id,
            row=s.row,
            number=s.number,
            x=s.x,
            y=s.y,
            type=SeatType(s.seat_type),
            price=Money(amount=prices.get(s.seat_type, 0), currency=currency),
        )
        for s in block
    ]
    total = Money(amount=sum(s.price.amount for s in seats), currency=currency)
    return BestBlock(showtime_id=showtime_id, count=count, seats=seats, total=total)
