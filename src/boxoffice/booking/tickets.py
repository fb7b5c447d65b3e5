"""Ticket codes (HMAC-SHA256 signed by the server), QR codes, the tickets PDF and the calendar entry.

A code is `BX1.<payload>.<signature>` in base64url: the payload packs (ticket, booking, showtime, seat) ids,
the signature is HMAC-SHA256 truncated to 128 bits under a key derived from the secret key. Anyone can read
a code; nobody without the secret key can make one.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import io
import struct
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import segno

from boxoffice.kit.money import fmt

if TYPE_CHECKING:  # fpdf2 and icalendar are imported where used: they add ~35 MB to every worker
    from fpdf import FPDF

PREFIX = "BX1"
_PACK = struct.Struct(">IIII")
_SIG_BYTES = 16


@dataclasses.dataclass(frozen=True)
class TicketClaims:
    """What a valid code says."""

    ticket_id: int
    booking_id: int
    showtime_id: int
    seat_id: int


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"boxoffice ticket signing v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_ticket(secret_key: str, claims: TicketClaims) -> str:
    """The signed code of a ticket."""
    payload = _PACK.pack(claims.ticket_id, claims.booking_id, claims.showtime_id, claims.seat_id)
    signature = hmac.new(_key(secret_key), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    return f"{PREFIX}.{_b64(payload)}.{_b64(signature)}"


def verify_ticket(secret_key: str, code: str) -> TicketClaims | None:
    """The claims of a genuine code, None for anything forged, altered or malformed."""
    parts = code.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    try:
        payload = _unb64(parts[1])
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error):
        return None
    if len(payload) != _PACK.size or _b64(payload) != parts[1] or _b64(signature) != parts[2]:
        return None  # one text form per ticket: no spare base64 bits, no padding variants
    expected = hmac.new(_key(secret_key), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    if not hmac.compare_digest(expected, signature):
        return None
    return TicketClaims(*_PACK.unpack(payload))


def qr_svg(code: str) -> str:
    """The code as an inline SVG QR image."""
    out = io.BytesIO()
    segno.make(code, error="m", mask=0, micro=False).save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return out.getvalue().decode()


@dataclasses.dataclass(frozen=True)
class TicketSheet:
    """Everything printed on one ticket page."""

    code: str
    cinema: str
    address: str
    screen: str
    movie: str
    starts_at: datetime
    timezone: str
    seat: str
    price: int
    currency: str
    reference: str


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _draw_qr(pdf: FPDF, code: str, *, x: float, y: float, size: float) -> None:
    """The QR code as vector rectangles (sharp at any zoom, and no PNG round trip)."""
    matrix = segno.make(code, error="m", mask=0, micro=False).matrix  # fixed mask: skips the costly scoring
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
            else:
                c += 1


def tickets_pdf(sheets: Sequence[TicketSheet]) -> bytes:
    """One A6 page per ticket: cinema, screen, movie, local start time, seat, price and the QR code."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format=(105, 148))  # A6
    pdf.set_auto_page_break(auto=False)
    pdf.set_title("boxoffice e-tickets")
    for sheet in sheets:
        local = sheet.starts_at.astimezone(ZoneInfo(sheet.timezone))
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 8, _latin1(sheet.movie), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        lines = [
            f"{sheet.cinema} - {sheet.screen}",
            sheet.address,
            local.strftime("%a %d %b %Y, %H:%M") + f" ({sheet.timezone})",
            f"Seat {sheet.seat}",
            f"Price {fmt(sheet.price, sheet.currency)}",
            f"Booking {sheet.reference}",
        ]
        for line in lines:
            if line:
                pdf.cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
        _draw_qr(pdf, sheet.code, x=27, y=62, size=50)
        pdf.set_font("Courier", "", 6)
        pdf.set_xy(5, 115)
        pdf.multi_cell(95, 3, sheet.code, align="C")
    return bytes(pdf.output())


@dataclasses.dataclass(frozen=True)
class CalendarEntry:
    """Everything the calendar file of a booking says."""

    uid: str
    movie: str
    cinema: str
    address: str
    screen: str
    starts_at: datetime
    ends_at: datetime
    seats: str


def calendar_ics(entry: CalendarEntry) -> bytes:
    """A calendar file with the showtime."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//boxoffice//tickets//EN")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", entry.uid)
    event.add("summary", f"{entry.movie} at {entry.cinema}")
    event.add("dtstart", entry.starts_at)
    event.add("dtend", entry.ends_at)
    event.add("dtstamp", entry.starts_at)
    event.add("location", ", ".join(p for p in (entry.cinema, entry.address) if p))
    event.add("description", f"{entry.screen}, seats {entry.seats}")
    cal.add_component(event)
    return bytes(cal.to_ical())
