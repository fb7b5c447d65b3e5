"""Seat change pages: the review shows the money before anything changes; confirm; the confirmation."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from boxoffice.db import transaction
from boxoffice.showtimes.models import ShowtimeSeat
from tests.factories.booking import DECLINED_CARD, GOOD_CARD, Customer, book_and_pay, hold, make_customer
from tests.factories.showtimes import BuiltShowtime, make_showtime
from tests.web.support import csrf_from, emails_to, page_login


async def _premium(app: FastAPI, seat_id: int, price: int = 1600) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(update(ShowtimeSeat).where(ShowtimeSeat.seat_id == seat_id).values(price=price))


async def _booked(
    app: FastAPI, client: httpx.AsyncClient, st: BuiltShowtime, seat_ids: list[int]
) -> tuple[Customer, str]:
    """A signed-in customer (page cookie) with a confirmed booking of `seat_ids`."""
    who = await make_customer(app)
    booking = await book_and_pay(client, who, st.showtime_id, seat_ids)
    await page_login(client, who.user.email)
    return who, str(booking["reference"])


def _review_url(ref: str, seat_ids: list[int]) -> str:
    return f"/bookings/{ref}/change?seats={','.join(map(str, seat_ids))}"


def _text(page: httpx.Response) -> str:
    """The page's text with tags dropped and whitespace folded (for sentences that span elements)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))


async def _seats_of(client: httpx.AsyncClient, who: Customer, ref: str) -> list[str]:
    body = (await client.get(f"/api/v1/bookings/{ref}", headers=who.headers)).json()
    return [s["label"] for s in body["seats"]]


async def test_review_of_a_dearer_change_shows_the_amount_to_pay_and_a_card_form(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    await _premium(app, st.seat_ids[3])
    who, ref = await _booked(app, client, st, st.seat_ids[:1])
    review = await client.get(_review_url(ref, [st.seat_ids[3]]))
    assert review.status_code == 200, review.text
    text = _text(review)
    assert "You pay €4.00 now." in text
    assert re.search(r'<span id="old-seats">A1</span>', review.text)
    assert re.search(r'<strong id="new-seats">A4</strong>', review.text)
    assert "Total €12.00" in text
    assert "Total €16.00" in text
    form = re.search(
        r'<form method="post" action="/bookings/' + ref + r'/change".*?</form>', review.text, re.S
    )
    assert form, "no confirm form"
    for field in ('name="card_number"', 'name="expiry"', 'name="cvc"', 'name="csrf_token"', "Confirm change"):
        assert field in form.group(0)
    assert f'name="seats" value="{st.seat_ids[3]}"' in form.group(0)
    back = f'href="/showtimes/{st.showtime_id}?change={ref}&amp;seats={st.seat_ids[3]}"'
    assert back in review.text
    assert "Pick other seats" in review.text
    csrf_from(review.text)
    assert await _seats_of(client, who, ref) == ["A1"]  # reviewing changes nothing
    # Back on the seat map, the seats picked for the review start picked.
    seat_map = await client.get(
        f"/showtimes/{st.showtime_id}", params={"change": ref, "seats": st.seat_ids[3]}
    )
    assert seat_map.status_code == 200
    assert f'data-picked="{st.seat_ids[3]}"' in seat_map.text
    assert "Review change" in seat_map.text
    assert "change-card" not in seat_map.text


async def test_review_of_a_cheaper_change_shows_the_refund(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    await _premium(app, st.seat_ids[3])
    _who, ref = await _booked(app, client, st, st.seat_ids[3:4])
    review = await client.get(_review_url(ref, st.seat_ids[:1]))
    assert review.status_code == 200, review.text
    text = _text(review)
    assert "€4.00 will be refunded to your card." in text
    assert 'name="card_number"' not in review.text
    assert "Confirm change" in text
    done = await client.post(
        f"/bookings/{ref}/change", data={"seats": str(st.seat_ids[0]), "csrf_token": csrf_from(review.text)}
    )
    assert done.status_code == 303, done.text
    flash = _text(await client.get(done.headers["location"]))
    assert "Your seats are now A1. €4.00 will be refunded to your card. Your new tickets" in flash


async def test_review_with_a_partial_refund_says_how_much(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(hours=1))
    _who, ref = await _booked(app, client, st, st.seat_ids[:2])
    review = await client.get(_review_url(ref, st.seat_ids[:1]))
    assert review.status_code == 200, review.text
    text = _text(review)
    assert "€6.00 will be refunded to your card." in text
    assert "That is 50% of the difference (€12.00)" in text


async def test_review_inside_the_no_refund_window_says_no_refund(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4, starts_in=timedelta(minutes=20))
    _who, ref = await _booked(app, client, st, st.seat_ids[:2])
    review = await client.get(_review_url(ref, st.seat_ids[:1]))
    assert review.status_code == 200, review.text
    text = _text(review)
    assert "No refund: changes in the last 30 minutes before the start are not refunded." in text
    assert "will be refunded" not in text


async def test_same_price_change_confirms_and_the_flash_names_the_new_seats(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=6)
    who, ref = await _booked(app, client, st, st.seat_ids[:2])
    target = [st.seat_ids[2], st.seat_ids[3]]
    review = await client.get(_review_url(ref, target))
    assert "No price difference." in _text(review)
    done = await client.post(
        f"/bookings/{ref}/change",
        data={"seats": ",".join(map(str, target)), "csrf_token": csrf_from(review.text)},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/bookings/{ref}"
    detail = await client.get(done.headers["location"])
    text = _text(detail)
    assert "Your seats are now A3, A4. Your new tickets are on their way by email." in text
    assert "Seat A3" in text
    assert "Seat A4" in text
    assert "Seat A1" not in text
    assert detail.text.count('src="data:image/svg+xml;base64,') == 2
    assert await _seats_of(client, who, ref) == ["A3", "A4"]
    emails = [e for e in await emails_to(app, who.user.email) if e.subject.startswith("New seats for")]
    assert len(emails) == 1
    assert "Now: A3, A4" in emails[0].text_body


async def test_dearer_change_pays_and_confirms(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    await _premium(app, st.seat_ids[3])
    who, ref = await _booked(app, client, st, st.seat_ids[:1])
    review = await client.get(_review_url(ref, [st.seat_ids[3]]))
    token = csrf_from(review.text)
    no_card = await client.post(
        f"/bookings/{ref}/change", data={"seats": str(st.seat_ids[3]), "csrf_token": token}
    )
    assert no_card.status_code == 422
    assert "You pay €4.00 now." in _text(no_card)
    paid = await client.post(
        f"/bookings/{ref}/change",
        data={"seats": str(st.seat_ids[3]), "card_number": GOOD_CARD, "csrf_token": token},
    )
    assert paid.status_code == 303, paid.text
    text = _text(await client.get(paid.headers["location"]))
    assert (
        "Your seats are now A4. €4.00 was charged to your card. Your new tickets are on their way by email."
    ) in text
    assert "Seat A4" in text
    assert await _seats_of(client, who, ref) == ["A4"]


async def test_declined_card_answers_402_and_the_seats_are_unchanged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    await _premium(app, st.seat_ids[3])
    who, ref = await _booked(app, client, st, st.seat_ids[:1])
    review = await client.get(_review_url(ref, [st.seat_ids[3]]))
    declined = await client.post(
        f"/bookings/{ref}/change",
        data={
            "seats": str(st.seat_ids[3]),
            "card_number": DECLINED_CARD,
            "csrf_token": csrf_from(review.text),
        },
    )
    assert declined.status_code == 402, declined.text
    text = _text(declined)
    assert "declined" in text.lower()
    assert "Your seats have not changed" in text
    assert "You pay €4.00 now." in text
    assert 'name="card_number"' in declined.text
    assert await _seats_of(client, who, ref) == ["A1"]
    other = await make_customer(app)
    await hold(client, other, st.showtime_id, [st.seat_ids[3]])  # the seat held for the payment is free again


async def test_seats_just_taken_are_named_with_a_way_back(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    _who, ref = await _booked(app, client, st, st.seat_ids[:1])
    other = await make_customer(app)
    await hold(client, other, st.showtime_id, [st.seat_ids[2]])
    review = await client.get(_review_url(ref, [st.seat_ids[2]]))
    assert review.status_code == 409
    text = _text(review)
    assert "Seat A3 was just taken by someone else." in text
    assert f'href="/showtimes/{st.showtime_id}?change={ref}&amp;seats={st.seat_ids[2]}"' in review.text
    assert "Confirm change" not in text
    unknown = await client.get(_review_url(ref, [2**31 - 1]))
    assert unknown.status_code == 422
    assert "not in this showtime" in _text(unknown)
    bad = await client.get(f"/bookings/{ref}/change", params={"seats": "1,x"})
    assert bad.status_code == 422
    assert "not valid" in _text(bad)


async def test_someone_elses_booking_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    owner = await make_customer(app)
    ref = str((await book_and_pay(client, owner, st.showtime_id, st.seat_ids[:1]))["reference"])
    stranger = await make_customer(app)
    await page_login(client, stranger.user.email)
    review = await client.get(_review_url(ref, [st.seat_ids[1]]))
    assert review.status_code == 404
    token = csrf_from((await client.get("/my/bookings")).text)
    posted = await client.post(
        f"/bookings/{ref}/change", data={"seats": str(st.seat_ids[1]), "csrf_token": token}
    )
    assert posted.status_code == 404
    assert await _seats_of(client, owner, ref) == ["A1"]
    forged = await client.post(f"/bookings/{ref}/change", data={"seats": str(st.seat_ids[1])})
    assert forged.status_code == 403
