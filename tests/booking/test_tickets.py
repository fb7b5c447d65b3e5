"""Tickets: signed codes (forgery refused), PDF and calendar (also as rendered into the confirmation email
by the outbox sender), check-in once within its window."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import re
import sys
import zlib
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import segno
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st_

from boxoffice.accounts.models import Role
from boxoffice.booking.tickets import TicketClaims, sign_ticket, verify_ticket
from boxoffice.notifications.models import OutboxEmail
from boxoffice.notifications.sender import deliver_due
from tests.conftest import TEST_SECRET, FrozenClock
from tests.factories.accounts import auth_headers, outbox
from tests.factories.booking import book_and_pay, make_customer
from tests.factories.showtimes import make_showtime


def test_codes_verify_and_resist_tampering() -> None:
    claims = TicketClaims(7, 3, 11, 42)
    code = sign_ticket(TEST_SECRET, claims)
    assert verify_ticket(TEST_SECRET, code) == claims
    assert verify_ticket("another-secret-key-of-some-length", code) is None
    prefix, payload, sig = code.split(".")
    forged_payload = base64.urlsafe_b64encode(
        b"\x00\x00\x00\x08" + base64.urlsafe_b64decode(payload + "==")[4:]
    )
    assert verify_ticket(TEST_SECRET, f"{prefix}.{forged_payload.decode().rstrip('=')}.{sig}") is None
    for bad in ("", "BX1", "BX1..", "BX2." + code[4:], code + "A", "BX1.!!!.???"):
        assert verify_ticket(TEST_SECRET, bad) is None


def test_a_ticket_has_exactly_one_text_form() -> None:
    code = sign_ticket(TEST_SECRET, TicketClaims(1, 1, 1, 1))
    prefix, payload, sig = code.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    raw = base64.urlsafe_b64decode(sig + "==")
    twins = [
        f"{prefix}.{payload}.{sig[:-1]}{ch}"
        for ch in alphabet
        if ch != sig[-1] and base64.urlsafe_b64decode(sig[:-1] + ch + "==") == raw
    ]
    assert twins  # 16 bytes leave spare bits in the last character
    assert [verify_ticket(TEST_SECRET, t) for t in twins] == [None] * len(twins)
    assert verify_ticket(TEST_SECRET, f"{code}==") is None
    assert verify_ticket(TEST_SECRET, code) is not None


@given(st_.text(max_size=80))
def test_random_strings_never_verify(text: str) -> None:
    assert verify_ticket(TEST_SECRET, text) is None


async def test_pdf_and_calendar(app: FastAPI, client: httpx.AsyncClient) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice, mallory = await make_customer(app), await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:3])
    pdf = await client.get(f"/api/v1/bookings/{booking['reference']}/tickets.pdf", headers=alice.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf.content.count(b"/Type /Page") - pdf.content.count(b"/Type /Pages") == 3  # a page per ticket
    ics = await client.get(f"/api/v1/bookings/{booking['reference']}/calendar.ics", headers=alice.headers)
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.content
    assert b"Test Movie" in ics.content
    hidden = await client.get(f"/api/v1/bookings/{booking['reference']}/tickets.pdf", headers=mallory.headers)
    assert hidden.status_code == 404


def pdf_pages(pdf: bytes) -> list[str]:
    """The content of each page of an fpdf2 document (one compressed stream per page, in page order)."""
    pages = []
    for found in re.finditer(rb"/Length (\d+)\n>>\nstream\n", pdf):
        data = pdf[found.end() : found.end() + int(found.group(1))]
        pages.append(zlib.decompress(data).decode("latin-1"))
    return pages


def drawn_qr(page: str) -> set[tuple[int, int]]:
    """The dark modules (row, column) of the QR code drawn on a page as filled rectangles."""
    rects = [
        tuple(map(float, found)) for found in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) -([\d.]+) re f", page)
    ]
    assert rects, "no QR code on the page"
    module = rects[0][3]
    left, top = min(r[0] for r in rects), max(r[1] for r in rects)
    cells: set[tuple[int, int]] = set()
    for x, y, width, _ in rects:
        row, first = round((top - y) / module), round((x - left) / module)
        cells.update((row, column) for column in range(first, first + round(width / module)))
    return cells


def qr_of(code: str) -> set[tuple[int, int]]:
    """The dark modules of the QR code of `code`."""
    matrix = segno.make(code, error="m", mask=0, micro=False).matrix
    return {(r, c) for r, row in enumerate(matrix) for c, dark in enumerate(row) if dark}


async def delivered(app: FastAPI, row: OutboxEmail, reference: str) -> EmailMessage:
    """The .eml the sender wrote for the email `row` (the confirmation or a seat change's)."""
    outbox_dir = Path(app.state.settings.outbox_dir)
    [path] = await asyncio.to_thread(lambda: list(outbox_dir.glob(f"{row.id}-*-{reference.lower()}.eml")))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def printed_tickets(message: EmailMessage, reference: str, codes: list[str]) -> list[str]:
    """The codes of the attached PDF's pages, each page checked to carry its code's QR."""
    files = {part.get_filename(): part for part in message.iter_attachments()}
    assert sorted(files) == [f"showtime-{reference}.ics", f"tickets-{reference}.pdf"]
    assert files[f"tickets-{reference}.pdf"].get_content_type() == "application/pdf"
    pdf = files[f"tickets-{reference}.pdf"].get_payload(decode=True)
    assert isinstance(pdf, bytes)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    pages = pdf_pages(pdf)
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == len(pages)
    printed = []
    for page in pages:
        [code] = [c for c in codes if f"({c})" in page]
        assert drawn_qr(page) == qr_of(code)
        printed.append(code)
    ics = files[f"showtime-{reference}.ics"]
    assert ics.get_content_type() == "text/calendar"
    assert b"BEGIN:VEVENT" in ics.get_payload(decode=True)
    return printed


async def test_the_sender_renders_the_emailed_tickets_not_the_payment(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    with monkeypatch.context() as blocked:
        for heavy in ("fpdf", "icalendar"):
            blocked.setitem(sys.modules, heavy, None)  # importing them fails: paying must not need them
        booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:3])
    [row] = await outbox(app, to=alice.user.email)
    assert "data_b64" not in str(row.attachments)
    assert await deliver_due(app) == 1
    message = await delivered(app, row, booking["reference"])
    codes = [t["code"] for t in booking["tickets"]]
    assert sorted(printed_tickets(message, booking["reference"], codes)) == sorted(codes)  # a page each


async def test_the_email_carries_the_tickets_valid_when_it_is_sent(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    changed = await client.patch(
        f"/api/v1/bookings/{booking['reference']}", json={"seat_ids": st.seat_ids[2:4]}, headers=alice.headers
    )
    assert changed.status_code == 200, changed.text
    old, new = ([t["code"] for t in b["tickets"]] for b in (booking, changed.json()))
    assert await deliver_due(app) == 2  # the confirmation, then the new seats
    confirmation, change = await outbox(app, to=alice.user.email)
    assert change.subject.startswith("New seats for")
    for row in (confirmation, change):
        message = await delivered(app, row, booking["reference"])
        assert sorted(printed_tickets(message, booking["reference"], old + new)) == sorted(new)


async def test_a_booking_refunded_before_its_email_went_out_is_not_confirmed(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    cancelled = await client.post(f"/api/v1/bookings/{booking['reference']}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200
    assert await deliver_due(app) == 1  # the refund email alone
    confirmation, refund = await outbox(app, to=alice.user.email)
    assert (confirmation.status, refund.status) == ("skipped", "sent")
    assert confirmation.last_error == f"booking {booking['reference']} is refunded: its tickets are void"
    frozen_clock.advance(hours=2)
    assert await deliver_due(app) == 0
    [again, _] = await outbox(app, to=alice.user.email)
    assert (again.status, again.attempts) == ("skipped", 1)  # never retried


async def test_checkin_admits_once_and_refuses_the_rest(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    owner = await make_customer(app, role=Role.owner)
    other_owner = await make_customer(app, role=Role.owner)
    admin = await make_customer(app, role=Role.admin)
    st = await make_showtime(
        app, rows=1, seats_per_row=4, owner_id=owner.user.id, starts_in=timedelta(hours=3)
    )
    other = await make_showtime(
        app, rows=1, seats_per_row=4, owner_id=owner.user.id, starts_in=timedelta(hours=3)
    )
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    code, code2 = (t["code"] for t in booking["tickets"])

    async def scan(body: dict[str, object], who: dict[str, str]) -> httpx.Response:
        return await client.post("/api/v1/checkin", json=body, headers=who)

    early = await scan({"code": code}, owner.headers)
    assert (early.status_code, early.json()["code"]) == (409, "checkin_not_open")
    frozen_clock.advance(hours=2, minutes=1)
    owner.headers = auth_headers(app, owner.user)
    admin.headers = auth_headers(app, admin.user)
    other_owner.headers = auth_headers(app, other_owner.user)
    not_theirs = await scan({"code": code}, other_owner.headers)
    assert (not_theirs.status_code, not_theirs.json()["code"]) == (404, "invalid_ticket")
    wrong = await scan({"code": code, "showtime_id": other.showtime_id}, owner.headers)
    assert (wrong.status_code, wrong.json()["code"]) == (409, "wrong_showtime")
    prefix, payload, sig = code.split(".")
    forged = await scan({"code": f"{prefix}.{payload}.{sig[:-2]}AA"}, owner.headers)
    assert (forged.status_code, forged.json()["code"]) == (404, "invalid_ticket")
    unknown = await scan({"code": sign_ticket(TEST_SECRET, TicketClaims(99999, 1, 1, 1))}, owner.headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "invalid_ticket")
    admitted = await scan({"code": code, "showtime_id": st.showtime_id}, owner.headers)
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["seat"] == "A1"
    assert admitted.json()["showtime"]["id"] == st.showtime_id
    twice = await scan({"code": code}, admin.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_admitted")
    by_admin = await scan({"code": code2}, admin.headers)
    assert by_admin.status_code == 200
    customer = await scan({"code": code2}, auth_headers(app, alice.user))
    assert customer.status_code == 403


async def test_replaced_and_refunded_codes_stop_working(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    owner = await make_customer(app, role=Role.owner)
    st = await make_showtime(
        app, rows=1, seats_per_row=4, owner_id=owner.user.id, starts_in=timedelta(days=2)
    )
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    old = booking["tickets"][0]["code"]
    changed = await client.patch(
        f"/api/v1/bookings/{booking['reference']}", json={"seat_ids": st.seat_ids[1:3]}, headers=alice.headers
    )
    new = changed.json()["tickets"][0]["code"]
    cancelled = await client.post(f"/api/v1/bookings/{booking['reference']}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200
    frozen_clock.advance(days=2)
    owner.headers = auth_headers(app, owner.user)
    for code in (old, new):
        response = await client.post("/api/v1/checkin", json={"code": code}, headers=owner.headers)
        assert (response.status_code, response.json()["code"]) == (404, "invalid_ticket")


async def test_checkin_closes_after_the_end(
    app: FastAPI, client: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    admin = await make_customer(app, role=Role.admin)
    st = await make_showtime(app, rows=1, seats_per_row=2, starts_in=timedelta(minutes=30))
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:1])
    frozen_clock.advance(hours=2, minutes=30)
    response = await client.post(
        "/api/v1/checkin", json={"code": booking["tickets"][0]["code"]}, headers=auth_headers(app, admin.user)
    )
    assert (response.status_code, response.json()["code"]) == (409, "checkin_closed")


async def test_checkin_is_rate_limited_per_scanner(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from boxoffice.booking import checkin_api

    monkeypatch.setattr(checkin_api, "CHECKIN_LIMIT", "3/minute")
    owner = await make_customer(app, role=Role.owner)
    answers = [
        (
            await client.post("/api/v1/checkin", json={"code": f"BX1.guess{i}.x"}, headers=owner.headers)
        ).status_code
        for i in range(5)
    ]
    assert answers == [404, 404, 404, 429, 429]
