"""The owner's side in a real browser: a screen from a layout (live preview), a showtime, the dashboard."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ADMIN, CUSTOMER, DESKTOP, OWNER, Server, shot, sign_in


async def choose(page: Page, select: str, text: str) -> None:
    """Pick the option of `select` whose label contains `text`."""
    value = await page.locator(f"{select} option", has_text=text).first.get_attribute("value")
    assert value is not None
    await page.select_option(select, value=value)


async def test_owner_creates_screen_and_showtime_that_appear_publicly(page: Page, server: Server) -> None:
    """Owner: new screen from a typed layout (preview updates live), a showtime on it, seen by the public."""
    await sign_in(page, OWNER)
    await page.goto("/backoffice/cinemas")
    await expect(page.locator("h2", has_text="Browser Test Picturehouse")).to_be_visible()
    await page.click(f"a[href='/backoffice/cinemas/{server.cinema_id}/screens/new']")
    name = f"Sala {secrets.token_hex(2).upper()}"
    await page.fill("#s-name", name)
    await page.fill("#s-layout", "_AAAA_\nAAAAAA\nPP__PP")
    await expect(page.locator("#preview-count")).to_have_text("14 seats")
    await page.fill("#s-layout", "_AAAA_\nAAAAAA\nPP__PP\nWC__CW")
    await expect(page.locator("#preview-count")).to_have_text("18 seats")
    await expect(page.locator("#layout-preview .seat[data-type=wheelchair]")).to_have_count(2)
    await page.fill("#s-layout", "_AAAA_\nAAXAAA")
    await expect(page.locator("#preview-error")).to_contain_text("unknown letter")
    await page.fill("#s-layout", "_AAAA_\nAAAAAA\nPP__PP\nWC__CW")
    await shot(page, "backoffice-screen-editor")
    await page.click("#screen-form button[type=submit]")
    await expect(page.locator(".flash-success")).to_contain_text("18 seats")

    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    await choose(page, "#st-screen", name)
    await choose(page, "#st-movie", server.movie_title)
    await page.fill("#st-date", day)
    await page.fill("#st-time", "21:15")
    await page.fill("#price-premium", "14.50")
    await page.click("#showtime-form button[type=submit]")
    await expect(page.locator(".flash-success")).to_contain_text("scheduled")
    await expect(page.locator(".timeline-svg rect.slot")).not_to_have_count(0)

    # A clashing showtime on the same screen is refused and drawn in red on the timeline.
    await choose(page, "#st-screen", name)
    await page.fill("#st-date", day)
    await page.fill("#st-time", "21:45")
    await page.fill("#price-premium", "14.50")
    await page.click("#showtime-form button[type=submit]")
    await expect(page.locator(".flash-error")).to_contain_text("busy")
    await expect(page.locator(".timeline-svg rect.slot.clash")).to_have_count(2)
    await shot(page, "backoffice-timeline-clash")

    await page.goto(f"/cinemas/{server.cinema_id}?date={day}")
    link = page.locator("a", has_text="21:15")
    await expect(link).to_be_visible()
    await link.click()
    await expect(page.locator("button.seat[data-seat-id]")).to_have_count(18)
    await expect(page.locator("p.muted").first).to_contain_text(name)
    await shot(page, "public-new-showtime-seatmap")


async def test_demo_customer_buys_and_admin_sees_it_on_the_dashboard(
    browser: Browser, server: Server
) -> None:
    """As a new user would: the demo customer buys a demo showtime; the demo admin sees it."""
    admin_ctx = await browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    customer_ctx = await browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    try:
        admin = await admin_ctx.new_page()
        await sign_in(admin, ADMIN)
        await admin.goto("/backoffice")
        before = int(await admin.locator("#kpi-tickets").inner_text())

        customer = await customer_ctx.new_page()
        await sign_in(customer, CUSTOMER)
        await customer.goto("/")
        await customer.locator("#now-h + ul.grid a").first.click()
        await customer.locator("ul.showtimes a").first.click()
        await customer.select_option("#best-count", "2")
        await customer.click("#best-button")
        await expect(customer.locator("button.seat[aria-pressed=true]")).to_have_count(2)
        await customer.click("#hold-button")
        await customer.fill("#card_number", "4242 4242 4242 4242")
        await customer.click("#pay-form button[type=submit]")
        await expect(customer.locator("img.ticket-qr")).to_have_count(2)

        await admin.reload()
        await expect(admin.locator("#kpi-tickets")).to_have_text(str(before + 2))
        await expect(admin.locator("figure.chart svg")).to_have_count(5)
        await expect(admin.locator("figure.chart svg rect.bar").first).to_be_attached()
        await shot(admin, "backoffice-dashboard")
    finally:
        await admin_ctx.close()
        await customer_ctx.close()
