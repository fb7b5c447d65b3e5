"""Queries of the booking domain: seat claims (conditional updates), bookings, tickets, idempotency."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from boxoffice.accounts.models import User
from boxoffice.booking.models import (
    Booking,
    BookingItem,
    BookingStatus,
    IdempotencyRecord,
    Ticket,
    TicketStatus,
)
from boxoffice.showtimes.models import SeatStatus, Showtime, ShowtimeSeat
from boxoffice.venues.models import Cinema


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _free(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """A seat nobody owns right now: available, or held with a hold that has run out."""
    return or_(
        ShowtimeSeat.status == SeatStatus.available,
        and_(ShowtimeSeat.status == SeatStatus.held, ShowtimeSeat.hold_expires_at < now),
    )


def _in_seat_order(where: ColumnElement[bool]) -> ColumnElement[bool]:
    """`where` for a PostgreSQL UPDATE of seats that locks its rows in seat order first.

    `id IN (SELECT id ... ORDER BY seat_id FOR UPDATE)`: the UPDATE's own statement takes the row locks in one
    global order, so overlapping claims queue instead of deadlocking, and no extra round trip is needed. A
    claimer that waited reads the committed row (`FOR UPDATE` returns the newest version) and the UPDATE
    re-checks its conditions on it.
    """
    ordered = select(ShowtimeSeat.id).where(where).order_by(ShowtimeSeat.seat_id).with_for_update()
    return and_(where, ShowtimeSeat.id.in_(ordered))


def _target(session: AsyncSession, where: ColumnElement[bool]) -> ColumnElement[bool]:
    """PostgreSQL: lock in seat order (`_in_seat_order`); SQLite's write transaction is serial already."""
    return _in_seat_order(where) if _is_postgres(session) else where


# The hold path's statements are built once: building a statement costs more CPU than running it.
_SEATS_OF_SHOWTIME = (
    select(ShowtimeSeat)
    .where(
        ShowtimeSeat.showtime_id == bindparam("showtime_id"),
        ShowtimeSeat.seat_id.in_(bindparam("seat_ids", expanding=True)),
    )
    .order_by(ShowtimeSeat.y, ShowtimeSeat.x)
    .execution_options(populate_existing=True)
)
_CLAIM_TARGET = and_(
    ShowtimeSeat.showtime_id == bindparam("of_showtime"),
    ShowtimeSeat.seat_id.in_(bindparam("of_seats", expanding=True)),
)
_CLAIM_VALUES = {
    "status": bindparam("new_status"),
    "booking_id": bindparam("new_booking_id"),
    "holder_id": bindparam("new_holder_id"),
    "hold_expires_at": bindparam("new_hold_expires_at"),
    "version": ShowtimeSeat.version + 1,
}
_FREE_NOW = _free(bindparam("now", type_=ShowtimeSeat.hold_expires_at.type))
_SEATS: Table = ShowtimeSeat.__table__  # type: ignore[assignment]
_CLAIMS = {  # a Core UPDATE (on the table): the ORM's bulk-update machinery is not needed here
    pg: update(_SEATS)
    .where(_in_seat_order(_CLAIM_TARGET) if pg else _CLAIM_TARGET, _FREE_NOW)
    .values(_CLAIM_VALUES)
    .returning(_SEATS.c.seat_id)
    for pg in (True, False)
}
_LOCK_USER = select(User.id).where(User.id == bindparam("user_id")).with_for_update()
_BOOKINGS: Table = Booking.__table__  # type: ignore[assignment]
_COUNT_LIVE_HOLDS = (
    select(func.count())
    .select_from(_BOOKINGS)
    .where(
        _BOOKINGS.c.user_id == bindparam("user_id"),
        _BOOKINGS.c.status == BookingStatus.held,
        _BOOKINGS.c.expires_at > bindparam("now"),
    )
)
_INSERT_BOOKING = insert(Booking).returning(Booking)
_INSERT_ITEMS = insert(BookingItem).returning(BookingItem, sort_by_parameter_order=True)


async def get_showtime(session: AsyncSession, showtime_id: int) -> Showtime | None:
    """The showtime, or None."""
    return await session.get(Showtime, showtime_id)


async def get_cinema(session: AsyncSession, cinema_id: int) -> Cinema | None:
    """The cinema, or None."""
    return await session.get(Cinema, cinema_id)


async def showtime_seats(
    session: AsyncSession, showtime_id: int, seat_ids: Sequence[int] | None = None
) -> Sequence[ShowtimeSeat]:
    """The showtime's seat rows (all, or those of `seat_ids`), freshly read."""
    if seat_ids is not None:
        params = {"showtime_id": showtime_id, "seat_ids": list(seat_ids)}
        return (await session.scalars(_SEATS_OF_SHOWTIME, params)).all()
    rows = await session.scalars(
        select(ShowtimeSeat)
        .where(ShowtimeSeat.showtime_id == showtime_id)
        .order_by(ShowtimeSeat.y, ShowtimeSeat.x)
        .execution_options(populate_existing=True)
    )
    return rows.all()


async def insert_booking(
    session: AsyncSession, values: dict[str, Any], items: Sequence[dict[str, Any]]
) -> Booking:
    """Insert a booking and its items with two INSERT ... RETURNING statements (no unit-of-work pass: the
    hot path of a hold); the booking comes back persistent, with its items loaded."""
    booking = (await session.scalars(_INSERT_BOOKING, [values])).one()
    rows = (
        await session.scalars(_INSERT_ITEMS, [{**item, "booking_id": booking.id} for item in items])
    ).all()
    set_committed_value(booking, "items", list(rows))
    return booking


async def claim_seats(
    session: AsyncSession,
    *,
    showtime_id: int,
    seat_ids: Sequence[int],
    booking_id: int,
    holder_id: int,
    status: SeatStatus,
    hold_expires_at: datetime | None,
    now: datetime,
) -> list[int]:
    """Claim the seats that are free, in one conditional UPDATE (rows locked in seat order on PostgreSQL);
    returns the seat ids it got."""
    result = await session.execute(
        _CLAIMS[_is_postgres(session)],
        {
            "of_showtime": showtime_id,
            "of_seats": list(seat_ids),
            "now": now,
            "new_status": status,
            "new_booking_id": booking_id,
            "new_holder_id": holder_id,
            "new_hold_expires_at": hold_expires_at,
        },
    )
    return [row[0] for row in result.all()]


async def reclaim_hold(
    session: AsyncSession,
    *,
    showtime_id: int,
    seat_ids: Sequence[int],
    booking_id: int,
    holder_id: int,
    hold_expires_at: datetime,
    now: datetime,
) -> list[int]:
    """Set a new hold end on the booking's seats: still ours, or free again; returns the seats it got."""
    target = and_(ShowtimeSeat.showtime_id == showtime_id, ShowtimeSeat.seat_id.in_(seat_ids))
    ours = and_(ShowtimeSeat.status == SeatStatus.held, ShowtimeSeat.booking_id == booking_id)
    result = await session.execute(
        update(ShowtimeSeat)
        .where(_target(session, target), or_(ours, _free(now)))
        .values(
            status=SeatStatus.held,
            booking_id=booking_id,
            holder_id=holder_id,
            hold_expires_at=hold_expires_at,
            version=ShowtimeSeat.version + 1,
        )
        .returning(ShowtimeSeat.seat_id)
        .execution_options(synchronize_session=False)
    )
    return [row[0] for row in result.all()]


async def sell_seats(session: AsyncSession, *, showtime_id: int, booking_id: int) -> list[int]:
    """Turn the booking's held seats into sold seats; returns the seat ids."""
    target = and_(
        ShowtimeSeat.showtime_id == showtime_id,
        ShowtimeSeat.booking_id == booking_id,
        ShowtimeSeat.status == SeatStatus.held,
    )
    result = await session.execute(
        update(ShowtimeSeat)
        .where(_target(session, target))
        .values(status=SeatStatus.sold, hold_expires_at=None, version=ShowtimeSeat.version + 1)
        .returning(ShowtimeSeat.seat_id)
        .execution_options(synchronize_session=False)
    )
    return [row[0] for row in result.all()]


async def release_seats(
    session: AsyncSession,
    *,
    showtime_id: int,
    booking_id: int,
    seat_ids: Sequence[int] | None = None,
    held_only: bool = False,
) -> list[int]:
    """Free the booking's seats (all, or only `seat_ids`; only held ones with `held_only`); returns the
    seat ids released."""
    statuses = (SeatStatus.held,) if held_only else (SeatStatus.held, SeatStatus.sold)
    target = and_(
        ShowtimeSeat.showtime_id == showtime_id,
        ShowtimeSeat.booking_id == booking_id,
        ShowtimeSeat.status.in_(statuses),
    )
    if seat_ids is not None:
        target = and_(target, ShowtimeSeat.seat_id.in_(seat_ids))
    result = await session.execute(
        update(ShowtimeSeat)
        .where(_target(session, target))
        .values(
            status=SeatStatus.available,
            booking_id=None,
            holder_id=None,
            hold_expires_at=None,
            version=ShowtimeSeat.version + 1,
        )
        .returning(ShowtimeSeat.seat_id)
        .execution_options(synchronize_session=False)
    )
    return [row[0] for row in result.all()]


async def sweep_expired_seats(
    session: AsyncSession, *, now: datetime, limit: int = 1000
) -> list[tuple[int, int]]:
    """Free held seats whose hold ran out; returns (showtime_id, seat_id) pairs."""
    expired = and_(ShowtimeSeat.status == SeatStatus.held, ShowtimeSeat.hold_expires_at < now)
    ids_stmt = select(ShowtimeSeat.id).where(expired).order_by(ShowtimeSeat.seat_id).limit(limit)
    if _is_postgres(session):
        ids_stmt = ids_stmt.with_for_update(skip_locked=True)
    ids = list((await session.scalars(ids_stmt)).all())
    if not ids:
        return []
    result = await session.execute(
        update(ShowtimeSeat)
        .where(ShowtimeSeat.id.in_(ids), expired)
        .values(
            status=SeatStatus.available,
            booking_id=None,
            holder_id=None,
            hold_expires_at=None,
            version=ShowtimeSeat.version + 1,
        )
        .returning(ShowtimeSeat.showtime_id, ShowtimeSeat.seat_id)
        .execution_options(synchronize_session=False)
    )
    return [(row[0], row[1]) for row in result.all()]


async def expired_held_bookings(
    session: AsyncSession, *, now: datetime, limit: int = 500
) -> Sequence[Booking]:
    """Held bookings whose hold has run out (PostgreSQL: skipping rows a payment is working on)."""
    stmt = (
        select(Booking)
        .where(Booking.status == BookingStatus.held, Booking.expires_at < now)
        .order_by(Booking.id)
        .limit(limit)
    )
    if _is_postgres(session):  # never wait on a booking locked by a payment (no lock-order deadlock)
        stmt = stmt.with_for_update(skip_locked=True, key_share=True)
    stmt = stmt.options(selectinload(Booking.items)).execution_options(populate_existing=True)
    rows = await session.scalars(stmt)
    return rows.all()


async def lock_user(session: AsyncSession, user_id: int) -> None:
    """PostgreSQL: lock the user's row until commit (SQLite write transactions are serial already)."""
    if _is_postgres(session):
        await session.execute(_LOCK_USER, {"user_id": user_id})


async def count_live_holds(session: AsyncSession, *, user_id: int, now: datetime) -> int:
    """How many held bookings the user has that have not expired."""
    count = await session.scalar(_COUNT_LIVE_HOLDS, {"user_id": user_id, "now": now})
    return int(count or 0)


async def get_booking(session: AsyncSession, reference: str, *, lock: bool = False) -> Booking | None:
    """The booking with its items, by reference (locked for update on PostgreSQL when asked)."""
    stmt = (
        select(Booking)
        .where(Booking.reference == reference)
        .options(selectinload(Booking.items))
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=Booking)
    return await session.scalar(stmt)


async def get_booking_by_id(session: AsyncSession, booking_id: int) -> Booking | None:
    """The booking with its items, by id."""
    return await session.scalar(
        select(Booking)
        .where(Booking.id == booking_id)
        .options(selectinload(Booking.items))
        .execution_options(populate_existing=True)
    )


async def held_bookings(session: AsyncSession, *, user_id: int) -> Sequence[Booking]:
    """The user's held bookings (expired or not), oldest first."""
    rows = await session.scalars(
        select(Booking)
        .where(Booking.user_id == user_id, Booking.status == BookingStatus.held)
        .options(selectinload(Booking.items))
        .order_by(Booking.id)
    )
    return rows.all()


async def live_bookings_of_showtime(session: AsyncSession, showtime_id: int) -> Sequence[Booking]:
    """Held and confirmed bookings of a showtime."""
    rows = await session.scalars(
        select(Booking)
        .where(
            Booking.showtime_id == showtime_id,
            Booking.status.in_((BookingStatus.held, BookingStatus.confirmed)),
        )
        .options(selectinload(Booking.items))
        .order_by(Booking.id)
    )
    return rows.all()


async def search_bookings(
    session: AsyncSession,
    *,
    user_id: int | None,
    owner_id: int | None,
    status: BookingStatus | None,
    showtime_id: int | None,
    reference: str | None,
    email: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Booking], int]:
    """Bookings visible under the given scope (user's own, owner's cinemas, or all), newest first."""
    stmt = select(Booking)
    if user_id is not None:
        stmt = stmt.where(Booking.user_id == user_id)
    if owner_id is not None:
        stmt = stmt.join(Cinema, Cinema.id == Booking.cinema_id).where(Cinema.owner_id == owner_id)
    if status is not None:
        stmt = stmt.where(Booking.status == status)
    if showtime_id is not None:
        stmt = stmt.where(Booking.showtime_id == showtime_id)
    if reference:
        stmt = stmt.where(Booking.reference == reference.strip().upper())
    if email:
        stmt = stmt.join(User, User.id == Booking.user_id).where(
            func.lower(User.email) == email.strip().lower()
        )
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(
        stmt.options(selectinload(Booking.items))
        .order_by(Booking.created_at.desc(), Booking.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), int(total or 0)


async def tickets_of_booking(
    session: AsyncSession, booking_id: int, *, live_only: bool = True
) -> Sequence[Ticket]:
    """The booking's tickets (only valid and used ones by default)."""
    stmt = select(Ticket).where(Ticket.booking_id == booking_id)
    if live_only:
        stmt = stmt.where(Ticket.status != TicketStatus.void)
    rows = await session.scalars(stmt.order_by(Ticket.row, Ticket.number, Ticket.id))
    return rows.all()


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """A ticket by id."""
    return await session.get(Ticket, ticket_id, populate_existing=True)


async def void_tickets(
    session: AsyncSession, booking_id: int, *, seat_ids: Sequence[int] | None = None
) -> None:
    """Void the live tickets of the booking (all, or those of `seat_ids`): their codes stop working."""
    where = and_(Ticket.booking_id == booking_id, Ticket.status == TicketStatus.valid)
    if seat_ids is not None:
        where = and_(where, Ticket.seat_id.in_(seat_ids))
    await session.execute(
        update(Ticket)
        .where(where)
        .values(status=TicketStatus.void)
        .execution_options(synchronize_session=False)
    )


async def admitted_seats(session: AsyncSession, booking_id: int) -> set[int]:
    """The seats of the booking whose ticket was already used at the door."""
    rows = await session.scalars(
        select(Ticket.seat_id).where(Ticket.booking_id == booking_id, Ticket.status == TicketStatus.used)
    )
    return set(rows.all())


async def admit_ticket(session: AsyncSession, *, ticket_id: int, now: datetime, by: int) -> bool:
    """Mark a valid ticket used, once; False when it was not valid any more."""
    result = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status == TicketStatus.valid)
        .values(status=TicketStatus.used, admitted_at=now, admitted_by_id=by)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def add_refunded(session: AsyncSession, *, booking: Booking, amount: int) -> None:
    """`refunded_amount += amount` in SQL (never read-modify-write in Python); the object follows."""
    if amount == 0:
        return
    new = await session.scalar(
        update(Booking)
        .where(Booking.id == booking.id)
        .values(refunded_amount=Booking.refunded_amount + amount)
        .returning(Booking.refunded_amount)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(booking, "refunded_amount", int(new or 0))


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """A user by id."""
    return await session.get(User, user_id)


async def get_idempotency(
    session: AsyncSession, *, user_id: int, scope: str, key: str
) -> IdempotencyRecord | None:
    """The stored record for (user, scope, key)."""
    return await session.scalar(
        select(IdempotencyRecord)
        .where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
        )
        .execution_options(populate_existing=True)
    )


async def store_idempotent_answer(session: AsyncSession, *, payment_id: int, status: int, body: Any) -> None:
    """Store the answer of the request that started the attempt (replayed to its retries)."""
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.payment_id == payment_id, IdempotencyRecord.status_code.is_(None))
        .values(status_code=status, response_body=body)
        .execution_options(synchronize_session=False)
    )


async def forget_idempotency_of_payment(session: AsyncSession, *, payment_id: int) -> None:
    """Drop the record of a request whose attempt never reached the provider (a retry runs afresh)."""
    await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.payment_id == payment_id, IdempotencyRecord.status_code.is_(None))
        .execution_options(synchronize_session=False)
    )


async def delete_idempotency_before(session: AsyncSession, cutoff: datetime) -> int:
    """Forget idempotency records older than `cutoff`; returns how many."""
    result = await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.created_at < cutoff)
        .returning(IdempotencyRecord.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())
