"""The booking state machine: the transition table, and late payments refused before anything is charged.

Each late-payment case is tried through `POST /bookings/{ref}/pay`, `POST /cart/checkout` and the
provider's webhook (a charge that succeeds after the showtime stopped selling is refunded in full, never
ticketed). "Nothing charged" is read from the simulated provider's own ledger, not from our tables.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from boxoffice.accounts.models import Role
from boxoffice.booking import transitions
from boxoffice.booking.models import Booking, BookingStatus, Ticket
from boxoffice.booking.transitions import TRANSITIONS, Event
from boxoffice.db import transaction
from boxoffice.errors import Conflict
from boxoffice.kit.clock import utc_now
from boxoffice.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from boxoffice.payments.simulated import deliver
from boxoffice.showtimes.models import Showtime, ShowtimeStatus
from tests.conftest import FrozenClock
from tests.factories.accounts import auth_headers
from tests.factories.booking import (
    Customer,
    charged_for,
    drain_refunds,
    hold,
    make_customer,
    simulated_ledger,
)
from tests.factories.showtimes import make_showtime

CARD = {"method": "card", "card_number": "4242424242424242"}
THREE_DS = {"method": "card", "card_number": "4000002500003155"}


def _showtime(status: ShowtimeStatus, *, starts_in: timedelta, closes_in: timedelta) -> Showtime:
    now = utc_now()
    return Showtime(status=status, starts_at=now + starts_in, sales_close_at=now + closes_in)


def _booking(status: BookingStatus, *, expires_in: timedelta = timedelta(minutes=5)) -> Booking:
    return Booking(status=status, expires_at=utc_now() + expires_in)


ON_SALE = _showtime(ShowtimeStatus.scheduled, starts_in=timedelta(days=1), closes_in=timedelta(days=1))
OFF_SALE = {
    "cancelled": _showtime(
        ShowtimeStatus.cancelled, starts_in=timedelta(days=1), closes_in=timedelta(days=1)
    ),
    "sales closed": _showtime(
        ShowtimeStatus.scheduled, starts_in=timedelta(hours=1), closes_in=-timedelta(1)
    ),
    "started": _showtime(ShowtimeStatus.scheduled, starts_in=-timedelta(minutes=5), closes_in=timedelta(1)),
}


@pytest.mark.parametrize("status", list(BookingStatus))
@pytest.mark.parametrize("event", list(Event))
def test_the_table_decides_every_pair(status: BookingStatus, event: Event) -> None:
    booking = _booking(status)
    allowed = (status, event) in TRANSITIONS
    assert transitions.allows(booking, event, showtime=ON_SALE, now=utc_now()) is allowed
    if not allowed:
        with pytest.raises(Conflict) as refused:
            transitions.target(booking, event, showtime=ON_SALE, now=utc_now())
        assert refused.value.code in {"already_paid", "booking_cancelled", "hold_expired", "invalid_state"}


@pytest.mark.parametrize("why", list(OFF_SALE))
@pytest.mark.parametrize("event", sorted(transitions.SELLING))
def test_nothing_is_sold_off_sale(why: str, event: Event) -> None:
    for status in (BookingStatus.held, BookingStatus.expired, BookingStatus.confirmed):
        if (status, event) not in TRANSITIONS:
            continue
        with pytest.raises(Conflict) as refused:
            transitions.target(_booking(status), event, showtime=OFF_SALE[why], now=utc_now())
        assert refused.value.code == "sales_closed"
    assert transitions.allows(
        _booking(BookingStatus.held), Event.cancel, showtime=OFF_SALE[why], now=utc_now()
    )


def test_codes_name_the_state() -> None:
    now = utc_now()
    codes = {}
    for status in (BookingStatus.confirmed, BookingStatus.cancelled, BookingStatus.refunded):
        with pytest.raises(Conflict) as refused:
            transitions.target(_booking(status), Event.secure, showtime=ON_SALE, now=now)
        codes[status] = refused.value.code
    assert codes == {
        BookingStatus.confirmed: "already_paid",
        BookingStatus.cancelled: "booking_cancelled",
        BookingStatus.refunded: "booking_cancelled",
    }
    with pytest.raises(Conflict) as expired_change:
        transitions.target(
            _booking(BookingStatus.held, expires_in=-timedelta(minutes=1)),
            Event.change,
            showtime=ON_SALE,
            now=now,
        )
    assert expired_change.value.code == "hold_expired"


async def _make_late(app: FastAPI, showtime_id: int, why: str, clock: FrozenClock) -> None:
    """Let the hold run out, then stop the showtime selling as `why` says."""
    clock.advance(minutes=15)
    async with transaction(app.state.sessionmaker) as session:
        values: dict[str, Any] = {}
        if why == "cancelled":
            values = {"status": ShowtimeStatus.cancelled, "sales_close_at": clock.now}
        elif why == "sales closed":
            values = {"sales_close_at": clock.now - timedelta(minutes=1)}
        else:  # started: the start is behind us (sales_close_at left later, as a lax owner might set it)
            values = {
                "starts_at": clock.now - timedelta(minutes=1),
                "sales_close_at": clock.now + timedelta(days=1),
            }
        await session.execute(update(Showtime).where(Showtime.id == showtime_id).values(**values))


async def _attempts(app: FastAPI) -> list[Payment]:
    async with transaction(app.state.sessionmaker, write=False) as session:
        return list((await session.scalars(select(Payment))).all())


@pytest.mark.parametrize("why", list(OFF_SALE))
@pytest.mark.parametrize("route", ["pay", "cart"])
async def test_late_payment_is_refused_before_any_charge(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock, why: str, route: str
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(hours=6))
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    await _make_late(app, st.showtime_id, why, frozen_clock)
    headers = auth_headers(app, alice.user)
    if route == "pay":
        answer = await client.post(f"/api/v1/bookings/{held['reference']}/pay", json=CARD, headers=headers)
    else:
        answer = await client.post("/api/v1/cart/checkout", json=CARD, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (409, "sales_closed"), answer.text
    assert charged_for(app, held["reference"]) == []
    assert await _attempts(app) == []
    async with transaction(app.state.sessionmaker, write=False) as session:
        assert (await session.scalars(select(Ticket))).all() == []


@pytest.mark.parametrize("why", list(OFF_SALE))
async def test_a_late_success_through_the_webhook_is_refunded_not_ticketed(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock, why: str
) -> None:
    """3-D Secure: the charge is pending when the hold runs out and the showtime stops selling; the
    provider's success event then arrives (twice, and a failure after it): the money goes back, once."""
    st = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(hours=6))
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    pending = await client.post(
        f"/api/v1/bookings/{held['reference']}/pay", json=THREE_DS, headers=alice.headers
    )
    assert pending.status_code == 202, pending.text
    [attempt] = await _attempts(app)
    await _make_late(app, st.showtime_id, why, frozen_clock)
    ledger = simulated_ledger(app)
    assert attempt.provider_ref is not None
    await ledger_complete(app, attempt.provider_ref)
    [success] = [
        e for e in ledger.events("payment_intent.succeeded") if e["data"]["id"] == attempt.provider_ref
    ]
    assert await deliver(app, success) is True
    assert await deliver(app, success) is False  # a replay of the same event is a no-op
    late_failure = {**success, "id": success["id"] + "_f", "type": "payment_intent.payment_failed"}
    assert await deliver(app, late_failure) is True  # a failure after the success changes nothing
    async with transaction(app.state.sessionmaker, write=False) as session:
        booking = await session.scalar(select(Booking).where(Booking.reference == held["reference"]))
        assert booking is not None
        assert booking.status == BookingStatus.expired
        assert booking.refunded_amount == 2400
        assert (await session.scalars(select(Ticket))).all() == []
        [payment] = (await session.scalars(select(Payment))).all()
        assert payment.status == PaymentStatus.refunded
        [refund] = (await session.scalars(select(Refund))).all()
        assert (refund.amount, refund.reason, refund.status) == (2400, "late_payment", RefundStatus.pending)
    assert await drain_refunds(app) == 1
    assert ledger.refunded_by_ref()[attempt.provider_ref] == 2400


async def ledger_complete(app: FastAPI, ref: str) -> None:
    """The customer finishes 3-D Secure at the provider."""
    from boxoffice.booking.deps import context_for_app

    provider = context_for_app(app).provider
    await provider.complete_pending(ref, True)  # type: ignore[attr-defined]


async def test_pay_and_cancel_codes_through_the_api(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_customer(app, role=Role.owner)
    st = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner.user.id)
    alice: Customer = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:1])
    url = f"/api/v1/bookings/{held['reference']}"
    assert (await client.post(f"{url}/pay", json=CARD, headers=alice.headers)).status_code == 200
    again = await client.post(f"{url}/pay", json=CARD, headers=alice.headers)
    assert (again.status_code, again.json()["code"]) == (409, "already_paid")
    assert (await client.post(f"{url}/cancel", headers=owner.headers)).json()["status"] == "refunded"
    dead = await client.post(f"{url}/pay", json=CARD, headers=alice.headers)
    assert (dead.status_code, dead.json()["code"]) == (409, "booking_cancelled")
    assert len([c for c in charged_for(app, held["reference"]) if c["status"] == "succeeded"]) == 1


async def test_a_showtime_cancelled_while_the_provider_charges_refunds_the_charge(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner cancels the showtime between transaction 1 and the provider's answer: the showtime cancel
    lets the (unpaid) booking go; the money that lands after it is refunded, the buyer told so with a 409."""
    from boxoffice.booking.deps import context_for_app

    owner = await make_customer(app, role=Role.owner)
    st = await make_showtime(app, rows=1, seats_per_row=4, owner_id=owner.user.id)
    alice = await make_customer(app)
    held = await hold(client, alice, st.showtime_id, st.seat_ids[:2])
    provider = context_for_app(app).provider
    real_charge = provider.charge

    async def charge_while_cancelled(**kwargs: Any) -> Any:
        done = await client.post(f"/api/v1/showtimes/{st.showtime_id}/cancel", headers=owner.headers)
        assert done.status_code == 200, done.text
        return await real_charge(**kwargs)

    monkeypatch.setattr(provider, "charge", charge_while_cancelled)
    paid = await client.post(f"/api/v1/bookings/{held['reference']}/pay", json=CARD, headers=alice.headers)
    assert (paid.status_code, paid.json()["code"]) == (409, "booking_cancelled"), paid.text
    assert await drain_refunds(app) == 1
    booking = (await client.get(f"/api/v1/bookings/{held['reference']}", headers=alice.headers)).json()
    assert booking["status"] == "cancelled"
    assert booking["tickets"] == []
    assert [(r["amount"]["amount"], r["status"]) for r in booking["refunds"]] == [(2400, "succeeded")]
    [charge] = [c for c in charged_for(app, held["reference"]) if c["status"] == "succeeded"]
    assert simulated_ledger(app).refunded_by_ref()[charge["ref"]] == 2400
