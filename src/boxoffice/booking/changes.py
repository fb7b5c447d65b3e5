"""Seat changes within a showtime: planned and checked under the booking's lock, all or nothing.

- A held booking, or a confirmed one whose new seats cost the same or less, changes in one transaction: new
  seats claimed before old ones are released; a lower price is refunded per the cancellation policy (in the
  last window, nothing), as a durable refund job.
- A confirmed booking whose new seats cost more pays the difference as a payment attempt of its own (a new
  idempotency key per attempt): the new seats are held for it, the attempt committed, the provider called
  outside any transaction, and the swap is done by `apply_paid_change` when the money is there (from the
  request, the webhook or the reconciliation sweep); a decline gives the held seats back.
- Seats already admitted at the door cannot be given up (409 `already_admitted`). The tickets
  are replaced by a new set (every old code stops working, admitted seats keep their used tickets),
  emailed to the customer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.models import User
from boxoffice.booking import notify, payflow, settlement, transitions
from boxoffice.booking import repository as repo
from boxoffice.booking.deps import BookingContext
from boxoffice.booking.models import Booking, BookingItem, BookingStatus
from boxoffice.booking.policy import policy_for
from boxoffice.booking.service import busy_guard, get_own_booking, issue_tickets, seats_unavailable
from boxoffice.booking.transitions import Event
from boxoffice.errors import Conflict, PaymentRequired, ServiceUnavailable, Unprocessable
from boxoffice.kit.clock import utc_now
from boxoffice.kit.faults import crash_point
from boxoffice.payments import service as payments
from boxoffice.payments.models import Payment, PaymentPurpose
from boxoffice.payments.providers import ChargeResult, PaymentDetails
from boxoffice.showtimes.models import SeatStatus, Showtime, ShowtimeSeat
from boxoffice.showtimes.service import load_showtime_context


@dataclasses.dataclass(frozen=True)
class ChangePlan:
    """What a seat change would do: seats added and given up, the new total, and the money either way."""

    add: list[int]
    remove: list[int]
    old_total: int
    new_total: int
    charge: int  # what the customer pays now (a confirmed booking moving to dearer seats)
    refund: int  # what comes back (a confirmed booking moving to cheaper or fewer seats, per the policy)
    refund_percent: int
    confirmed: bool
    rows: dict[int, ShowtimeSeat]

    @property
    def difference(self) -> int:
        """New total minus old total."""
        return self.new_total - self.old_total


async def plan_change(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    booking: Booking,
    showtime: Showtime,
    seat_ids: Sequence[int],
    now: datetime,
) -> ChangePlan:
    """Check the change (state, showtime, seats, admissions) and price it; nothing is written."""
    transitions.target(booking, Event.change, showtime=showtime, now=now)
    if len(seat_ids) > ctx.settings.max_seats_per_booking:
        raise Unprocessable(
            f"At most {ctx.settings.max_seats_per_booking} seats per booking.", code="too_many_seats"
        )
    rows = {r.seat_id: r for r in await repo.showtime_seats(session, showtime.id, seat_ids)}
    unknown = sorted(set(seat_ids) - set(rows))
    if unknown:
        raise Unprocessable(
            f"Seats {unknown} are not in this showtime.", code="unknown_seats", extra={"seats": unknown}
        )
    old = {i.seat_id: i for i in booking.items}
    add = sorted(set(seat_ids) - set(old))
    remove = sorted(set(old) - set(seat_ids))
    admitted = sorted(set(remove) & await repo.admitted_seats(session, booking.id))
    if admitted:
        raise Conflict(
            "Seats already admitted at the door cannot be changed.",
            code="already_admitted",
            extra={"seats": admitted},
        )
    taken = [s for s in add if not _free_for(rows[s], booking, now)]
    if taken:
        raise seats_unavailable(taken)
    new_total = sum(old[s].price for s in old if s not in remove) + sum(rows[s].price for s in add)
    diff = new_total - booking.total_amount
    confirmed = booking.status == BookingStatus.confirmed
    refund, percent = 0, 0
    if confirmed and diff < 0:
        quote = policy_for(ctx.settings.cancellation_policy).quote(
            paid=-diff, starts_at=showtime.starts_at, now=now
        )
        refund, percent = (quote.refund, quote.percent) if quote.allowed else (0, 0)
    charge = diff if confirmed and diff > 0 else 0
    return ChangePlan(add, remove, booking.total_amount, new_total, charge, refund, percent, confirmed, rows)


def _free_for(seat: ShowtimeSeat, booking: Booking, now: datetime) -> bool:
    if seat.status == SeatStatus.available:
        return True
    if seat.status == SeatStatus.held and seat.booking_id == booking.id:
        return True
    return seat.status == SeatStatus.held and seat.hold_expires_at is not None and seat.hold_expires_at < now


async def quote_change(
    session: AsyncSession, *, ctx: BookingContext, user: User, reference: str, seat_ids: Sequence[int]
) -> tuple[Booking, ChangePlan]:
    """What changing to `seat_ids` would cost or give back now (the page shows it before confirming)."""
    booking = await get_own_booking(session, user=user, reference=reference)
    showtime = await repo.get_showtime(session, booking.showtime_id)
    assert showtime is not None
    plan = await plan_change(
        session, ctx=ctx, booking=booking, showtime=showtime, seat_ids=seat_ids, now=utc_now()
    )
    return booking, plan


async def _claim(
    session: AsyncSession,
    *,
    booking: Booking,
    seat_ids: list[int],
    status: SeatStatus,
    until: datetime | None,
) -> None:
    if not seat_ids:
        return
    try:
        got = await repo.claim_seats(
            session,
            showtime_id=booking.showtime_id,
            seat_ids=seat_ids,
            booking_id=booking.id,
            holder_id=booking.user_id,
            status=status,
            hold_expires_at=until,
            now=utc_now(),
        )
    except DBAPIError as exc:
        raise (busy_guard(exc) or exc) from exc
    if len(got) != len(seat_ids):
        raise seats_unavailable(sorted(set(seat_ids) - set(got)))


async def _swap(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    booking: Booking,
    showtime: Showtime,
    add: list[int],
    remove: list[int],
    rows: dict[int, ShowtimeSeat],
    charged: int,
    refunded: int,
    actor_id: int | None,
) -> None:
    """Seats already claimed for the booking (held, or sold) become its seats; the old ones are let go."""
    confirmed = booking.status == BookingStatus.confirmed
    old_labels = [f"{i.row}{i.number}" for i in booking.items]
    if confirmed and add:
        await repo.sell_seats(session, showtime_id=booking.showtime_id, booking_id=booking.id)
    if remove:
        await repo.release_seats(
            session, showtime_id=booking.showtime_id, booking_id=booking.id, seat_ids=remove
        )
    for item in [i for i in booking.items if i.seat_id in remove]:
        booking.items.remove(item)
    for seat_id in add:
        r = rows[seat_id]
        booking.items.append(
            BookingItem(seat_id=r.seat_id, row=r.row, number=r.number, seat_type=r.seat_type, price=r.price)
        )
    old_total = booking.total_amount
    booking.total_amount = sum(i.price for i in booking.items)
    await session.flush()
    if confirmed:  # a new set of tickets (the old codes stop working); admitted seats keep theirs
        admitted = await repo.admitted_seats(session, booking.id)
        await repo.void_tickets(session, booking.id)
        keep = [i.seat_id for i in booking.items if i.seat_id not in admitted]
        await issue_tickets(session, ctx=ctx, booking=booking, seat_ids=keep)
    await transitions.move(
        session,
        booking,
        Event.change,
        showtime=showtime,
        now=utc_now(),
        actor_id=actor_id,
        data={
            "added": add,
            "removed": remove,
            "difference": booking.total_amount - old_total,
            "charged": charged,
            "refunded": refunded,
        },
    )
    changes = [(s, "sold" if confirmed else "held") for s in add] + [(s, "available") for s in remove]
    notify.publish_seats(session, ctx.events, booking.showtime_id, changes)
    customer = await repo.get_user(session, booking.user_id)
    if confirmed and customer is not None and customer.deleted_at is None:
        sctx = await load_showtime_context(session, showtime_id=booking.showtime_id)
        await notify.email_seats_changed(
            session,
            to=customer.email,
            name=customer.full_name,
            booking=booking,
            old_seats=old_labels,
            charged=charged,
            refunded=refunded,
            ctx=sctx,
        )


async def change_seats(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    user: User,
    reference: str,
    seat_ids: list[int],
    details: PaymentDetails,
) -> Booking:
    """Swap the booking's seats; a confirmed booking pays or gets back the difference and new tickets."""
    found = await get_own_booking(session, user=user, reference=reference)
    [booking], showtimes = await transitions.lock(session, [found.id])
    showtime = showtimes[booking.showtime_id]
    now = utc_now()
    plan = await plan_change(session, ctx=ctx, booking=booking, showtime=showtime, seat_ids=seat_ids, now=now)
    if not plan.add and not plan.remove:
        return booking
    if plan.charge == 0:
        status = SeatStatus.sold if plan.confirmed else SeatStatus.held
        await _claim(
            session,
            booking=booking,
            seat_ids=plan.add,
            status=status,
            until=None if plan.confirmed else booking.expires_at,
        )
        refunded = 0
        if plan.refund:
            refunded = await payments.queue_refund(
                session, booking_id=booking.id, amount=plan.refund, reason="seat_change"
            )
            await repo.add_refunded(session, booking=booking, amount=refunded)
        await _swap(
            session,
            ctx=ctx,
            booking=booking,
            showtime=showtime,
            add=plan.add,
            remove=plan.remove,
            rows=plan.rows,
            charged=0,
            refunded=refunded,
            actor_id=user.id,
        )
        return booking
    return await _change_with_charge(session, ctx=ctx, user=user, booking=booking, plan=plan, details=details)


async def _change_with_charge(
    session: AsyncSession,
    *,
    ctx: BookingContext,
    user: User,
    booking: Booking,
    plan: ChangePlan,
    details: PaymentDetails,
) -> Booking:
    """The dearer change: hold the new seats, commit the attempt, charge, then apply (payflow's steps)."""
    if not (details.card_number or details.payment_method):
        raise Unprocessable(
            "The new seats cost more: send payment details (card_number) with the change.",
            code="payment_details_required",
        )
    if await payments.has_pending(session, booking_id=booking.id):
        raise Conflict("A payment for this booking is still being processed.", code="payment_pending")
    grace = timedelta(minutes=max(1, ctx.settings.payment_grace_minutes))
    await _claim(session, booking=booking, seat_ids=plan.add, status=SeatStatus.held, until=utc_now() + grace)
    payment = await payments.start_attempt(
        session,
        user_id=user.id,
        provider=ctx.provider.name,
        currency=booking.currency,
        allocations=[(booking.id, plan.charge)],
        purpose=PaymentPurpose.seat_change,
        plan={"add": plan.add, "remove": plan.remove},
    )
    metadata = payments.charge_metadata(payment, [booking.reference])
    payment_id, key, amount, ref = payment.id, payment.idempotency_key, payment.amount, booking.reference
    await payflow.commit(session)
    crash_point("payment.attempt_committed")

    async def charge() -> ChargeResult:
        return await ctx.provider.charge(
            amount=amount,
            currency=booking.currency,
            details=details,
            idempotency_key=key,
            description=f"boxoffice {ref} seat change",
            metadata=metadata,
        )

    result = await payflow.ask_provider(ctx.provider, call=charge, payment=payment, metadata=metadata)
    crash_point("payment.provider_answered")
    if result is None:
        raise ServiceUnavailable(
            "The payment provider did not answer; the change is applied (or its seats let go) automatically.",
            code="payment_provider_unavailable",
        )
    await settlement.apply_charge_result(session, ctx=ctx, payment_id=payment_id, result=result)
    crash_point("payment.result_applied")
    await payflow.commit(session)
    if result.status == "declined":
        raise PaymentRequired(result.message or "The payment was declined; the seats are unchanged.")
    return booking


async def apply_paid_change(
    session: AsyncSession, *, ctx: BookingContext, payment: Payment, booking: Booking, showtime: Showtime
) -> None:
    """The difference of a seat change was paid: swap the seats, or owe the money back when the change
    can no longer be made (booking let go, showtime off sale, seats lost, a seat admitted meanwhile)."""
    plan = payment.plan or {}
    add = [int(s) for s in plan.get("add", [])]
    remove = [int(s) for s in plan.get("remove", [])]
    now = utc_now()
    ok = transitions.allows(booking, Event.change, showtime=showtime, now=now) and not (
        set(remove) & await repo.admitted_seats(session, booking.id)
    )
    if ok and add:
        got = await repo.reclaim_hold(
            session,
            showtime_id=booking.showtime_id,
            seat_ids=add,
            booking_id=booking.id,
            holder_id=booking.user_id,
            hold_expires_at=now + timedelta(minutes=1),
            now=now,
        )
        ok = len(got) == len(add)
    if ok:
        rows = {r.seat_id: r for r in await repo.showtime_seats(session, booking.showtime_id, add)}
        await _swap(
            session,
            ctx=ctx,
            booking=booking,
            showtime=showtime,
            add=add,
            remove=remove,
            rows=rows,
            charged=payment.amount,
            refunded=0,
            actor_id=payment.user_id,
        )
        return
    await release_planned(session, payment=payment, booking=booking)
    owed = await payments.queue_refund(
        session,
        booking_id=booking.id,
        amount=payment.amount,
        reason="seat_change_failed",
        payment_ids=[payment.id],
    )
    await repo.add_refunded(session, booking=booking, amount=owed)


async def release_planned(session: AsyncSession, *, payment: Payment, booking: Booking) -> None:
    """Let go of the seats a seat change held while its payment ran (declined, or the change failed)."""
    add = [int(s) for s in (payment.plan or {}).get("add", [])]
    held = [s for s in add if s not in {i.seat_id for i in booking.items}]
    if held:
        await repo.release_seats(
            session, showtime_id=booking.showtime_id, booking_id=booking.id, seat_ids=held, held_only=True
        )
