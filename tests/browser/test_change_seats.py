"""Changing the seats of a paid booking: seat map in change mode -> review with the price difference -> pay
-> confirmation with the new tickets; the review and the confirmation shown on a phone and a desktop."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import CUSTOMER, PHONE, Server, shot, sign_in

WIDE = {"width": 1366, "height": 900}


async def _no_sideways_scroll(page: Page, what: str) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} scrolls sideways at {page.viewport_size}"


async def _both_widths(page: Page, name: str) -> None:
    """Screenshots at 375 px and 1366 px wide (the same page, resized), then back to the desktop size."""
    for size, suffix in ((PHONE, "phone"), (WIDE, "desktop")):
        await page.set_viewport_size(size)
        await _no_sideways_scroll(page, name)
        await shot(page, f"{name}-{suffix}")


async def test_change_to_a_dearer_seat_reviews_pays_and_confirms(browser: Browser, server: Server) -> None:
    """C8 (standard, €9.00) -> D8 (premium, €13.00): the review says "You pay €4.00 now", the card pays it,
    the booking page confirms with the new ticket."""
    ctx = await browser.new_context(base_url=server.base_url, viewport=WIDE)
    ctx.set_default_timeout(10_000)
    try:
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await sign_in(page, CUSTOMER)
        await page.goto(f"/showtimes/{server.showtime_id}")
        await page.click("button.seat[data-label='C8']")
        await page.click("#hold-button")
        await page.wait_for_url(re.compile(r"/checkout$"))
        await page.fill("#card_number", "4242 4242 4242 4242")
        await page.click("#pay-form button[type=submit]")
        await expect(page.locator("h2#tickets-h")).to_be_visible()
        reference = page.url.rsplit("/", 1)[-1]

        await page.click("text=Change seats")
        await expect(page.locator("#hold-button")).to_have_text("Review change")
        await expect(page.locator("button.seat[data-label='C8']")).to_have_attribute("aria-pressed", "true")
        await page.click("button.seat[data-label='C8']")
        await page.click("button.seat[data-label='D8']")
        await expect(page.locator("#total")).to_have_text("€13.00")
        await page.click("#hold-button")
        await page.wait_for_url(re.compile(rf"/bookings/{reference}/change\?seats=\d+$"))
        await expect(page.locator("#old-seats")).to_have_text("C8")
        await expect(page.locator("#new-seats")).to_have_text("D8")
        await expect(page.locator("#change-money")).to_have_text("You pay €4.00 now.")
        await _both_widths(page, "change-review")

        # "Pick other seats" goes back to the map in change mode with the pick kept; review again.
        await page.click("text=Pick other seats")
        await expect(page.locator("button.seat[data-label='D8']")).to_have_attribute("aria-pressed", "true")
        await page.click("#hold-button")
        await page.wait_for_url(re.compile(r"/change\?seats="))

        await page.fill("#card_number", "4000 0000 0000 0002")
        await page.click("#confirm-change")
        await expect(page.locator(".flash-error")).to_contain_text("declined")
        await expect(page.locator(".flash-error")).to_contain_text("Your seats have not changed")
        await page.fill("#card_number", "4242 4242 4242 4242")
        await page.click("#confirm-change")
        await page.wait_for_url(re.compile(rf"/bookings/{reference}$"))
        await expect(page.locator(".flash-success")).to_have_text(
            "Your seats are now D8. €4.00 was charged to your card."
            " Your new tickets are on their way by email."
        )
        await expect(page.locator(".ticket strong")).to_have_text(["Seat D8"])
        await expect(page.locator("img.ticket-qr")).to_have_count(1)
        await _both_widths(page, "change-confirmed")
        assert errors == []
    finally:
        await ctx.close()
