"""A customer's whole journey, live seats across two browsers, keyboard-only picking on a phone."""

from __future__ import annotations

import re
import secrets
import time
from email import message_from_bytes, policy
from pathlib import Path

from playwright.async_api import Browser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import CUSTOMER, DESKTOP, PHONE, Server, shot, sign_in

PASSWORD = "a long and lovely evening at the movies"


def _verification_link(outbox: Path, email: str, timeout: float = 15.0) -> str:
    """The verification link from the .eml the server wrote for `email`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if email in str(message["To"]):
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                match = re.search(r"https?://\S+/verify-email\?token=[A-Za-z0-9_\-%]+", body.get_content())
                if match:
                    return match.group(0)
        time.sleep(0.25)
    raise AssertionError(f"no verification email for {email} in {outbox}")


async def test_customer_journey(page: Page, server: Server) -> None:
    """Register -> verify from the outbox email -> pick seats -> pay -> QR ticket -> cancel, refund shown."""
    email = f"journey-{secrets.token_hex(4)}@example.com"
    await page.goto("/")
    await shot(page, "home-desktop")
    await page.click("text=Create account")
    await page.fill("#full_name", "Jo Journey")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("form.stack button[type=submit]")
    await expect(page.locator(".flash-success")).to_contain_text("We sent a link")

    link = _verification_link(server.var_dir / "outbox", email)
    await page.goto(link)
    await page.click("text=Confirm my email address")
    await expect(page.locator(".flash-success")).to_contain_text("confirmed")

    await page.goto(f"/cinemas/{server.cinema_id}")
    await page.goto("/")
    await page.click(f"text={server.movie_title}")
    await shot(page, "movie-desktop")
    await page.click(f"a[href='/showtimes/{server.showtime_id}']")
    await page.click("button.seat[data-label='B5']")
    await page.click("button.seat[data-label='B6']")
    await expect(page.locator("#total")).to_have_text("€18.00")
    await shot(page, "seatmap-desktop")
    await page.click("#hold-button")
    await page.wait_for_url(re.compile(r"/bookings/\w+/checkout"))
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d+:\d\d$"))
    await shot(page, "checkout-desktop")

    await page.fill("#card_number", "4000 0000 0000 0002")
    await page.click("#pay-form button[type=submit]")
    await expect(page.locator(".flash-error")).to_contain_text("declined")

    await page.fill("#card_number", "4242 4242 4242 4242")
    await page.click("#pay-form button[type=submit]")
    await expect(page.locator("h2#tickets-h")).to_have_text("Your tickets")
    await expect(page.locator("img.ticket-qr")).to_have_count(2)
    await shot(page, "confirmation-desktop")

    refund = (await page.locator("#refund-quote strong").inner_text()).strip()
    await page.click("#cancel-button")  # the confirm() dialog is accepted by the fixture
    await expect(page.locator(".flash-success")).to_contain_text("is cancelled")
    await expect(page.locator(".chip").first).to_have_text("refunded")
    if refund != "€0.00":
        await expect(page.locator(".flash-success")).to_contain_text(refund)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_live_seats_across_two_browsers(browser: Browser, server: Server) -> None:
    """One browser holds and buys seats; the other sees them turn taken within 2 seconds, no reload."""
    buyer_ctx = await browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    watcher_ctx = await browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    try:
        buyer = await buyer_ctx.new_page()
        watcher = await watcher_ctx.new_page()
        await sign_in(buyer, CUSTOMER)
        url = f"/showtimes/{server.showtime_id}"
        await buyer.goto(url)
        await watcher.goto(url)
        # (wait_for_function would need 'unsafe-eval', which the pages' CSP rightly refuses)
        await expect(watcher.locator("#seatmap")).to_have_attribute("data-live", "on")
        seats = ["C1", "C2"]
        for label in seats:
            await expect(watcher.locator(f"button.seat[data-label='{label}']")).to_have_attribute(
                "data-status", "available"
            )
            await buyer.click(f"button.seat[data-label='{label}']")
        started = time.monotonic()
        await buyer.click("#hold-button")
        for label in seats:
            await expect(watcher.locator(f"button.seat[data-label='{label}']")).not_to_have_attribute(
                "data-status", "available", timeout=2_000
            )
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"the watcher saw the seats taken after {elapsed:.2f}s"
        await expect(watcher.locator("button.seat[data-label='C1']")).to_have_attribute(
            "aria-disabled", "true"
        )
        await buyer.wait_for_url(re.compile(r"/checkout$"))
        await buyer.fill("#card_number", "4242 4242 4242 4242")
        await buyer.click("#pay-form button[type=submit]")
        await expect(buyer.locator("h2#tickets-h")).to_be_visible()
        for label in seats:
            await expect(watcher.locator(f"button.seat[data-label='{label}']")).to_have_attribute(
                "data-status", "sold", timeout=2_000
            )
        await shot(watcher, "seatmap-live-watcher")
        print(f"live seat update seen after {elapsed * 1000:.0f} ms")  # noqa: T201
    finally:
        await buyer_ctx.close()
        await watcher_ctx.close()


async def test_keyboard_only_on_a_phone(browser: Browser, server: Server) -> None:
    """At 375 px: reach the seat map with Tab, move with arrows, pick with Space, continue with Enter."""
    ctx = await browser.new_context(base_url=server.base_url, viewport=PHONE, has_touch=True)
    try:
        page = await ctx.new_page()
        await page.goto("/")
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the home page scrolls sideways on a phone"
        await shot(page, "home-phone")
        await sign_in(page, CUSTOMER)
        await page.goto(f"/showtimes/{server.showtime_id}")
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the seat page scrolls sideways on a phone (only the map may)"

        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.classList.contains('seat')"):
                break
        else:
            raise AssertionError("Tab never reached the seat map")
        # Move to row E and pick two seats with the keyboard only.
        for _ in range(4):
            await page.keyboard.press("ArrowDown")
        focused = await page.evaluate("document.activeElement.dataset.label")
        assert focused.startswith("E"), focused
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        first = await page.evaluate("document.activeElement.dataset.label")
        await page.keyboard.press("Space")
        await page.keyboard.press("ArrowRight")
        second = await page.evaluate("document.activeElement.dataset.label")
        await page.keyboard.press("Space")
        await expect(page.locator("#picked")).to_contain_text(f"{first}, {second}")
        await shot(page, "seatmap-phone-keyboard")
        for _ in range(30):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id === 'hold-button'"):
                break
        else:
            raise AssertionError("Tab never reached the continue button")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/checkout$"))
        await shot(page, "checkout-phone")
        # Let the seats go again (the demo customer may hold only a few bookings at once).
        await page.click("text=Release these seats")
        await expect(page.locator(".flash-success")).to_contain_text("is cancelled")
    finally:
        await ctx.close()


async def test_change_seats_of_a_paid_booking(page: Page, server: Server) -> None:
    """My booking -> change seats: the current seat is outlined and pre-picked; swap it for another."""
    await sign_in(page, CUSTOMER)
    await page.goto(f"/showtimes/{server.showtime_id}")
    await page.click("button.seat[data-label='D1']")
    await page.click("#hold-button")
    await page.wait_for_url(re.compile(r"/checkout$"))
    await page.fill("#card_number", "4242 4242 4242 4242")
    await page.click("#pay-form button[type=submit]")
    await expect(page.locator("h2#tickets-h")).to_be_visible()
    await page.click("text=Change seats")
    await expect(page.locator("button.seat[data-label='D1']")).to_have_attribute("aria-pressed", "true")
    await page.click("button.seat[data-label='D1']")
    await page.click("button.seat[data-label='D2']")
    await page.click("#hold-button")  # "Review change": nothing changes before the review is confirmed
    try:
        await page.wait_for_url(re.compile(r"/bookings/\w+/change\?seats=\d+$"))
    except PlaywrightTimeout as exc:
        raise AssertionError(await page.locator("#seat-message").inner_text()) from exc
    await expect(page.locator("#change-money")).to_have_text("No price difference.")
    await page.click("#confirm-change")
    await page.wait_for_url(re.compile(r"/bookings/\w+$"))
    await expect(page.locator(".flash-success")).to_contain_text("Your seats are now D2.")
    await expect(page.locator(".ticket strong").first).to_have_text("Seat D2")
    assert page.errors == []  # type: ignore[attr-defined]
