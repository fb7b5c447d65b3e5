"""Browser tests: Debian's Chromium driven by Playwright (async API) against a real server process.

The server is `uvicorn boxoffice.main:create_app --factory` on a free port, with a temporary SQLite
database migrated and loaded with `boxoffice demo`, in development mode (emails land as .eml files).
A showtime is then scheduled through the JSON API as the demo admin, so the tests do not depend on
what the demo catalogue happens to contain. Screenshots go to test-output/browser/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "browser"
DEMO_PASSWORD = "popcorn-and-a-movie"
ADMIN = "admin@boxoffice.localhost"
OWNER = "owner@boxoffice.localhost"
CUSTOMER = "customer@boxoffice.localhost"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Server:
    """A running boxoffice server."""

    base_url: str
    var_dir: Path
    showtime_id: int
    movie_title: str
    cinema_id: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "boxoffice.cli", *args], env=env, check=True, cwd=ROOT, timeout=120)


def _schedule_showtime(base_url: str) -> tuple[int, str, int]:
    """As the demo admin: a cinema owned by the demo owner, a screen, a movie and a showtime tomorrow."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        # Sign in through the page (the JSON API then accepts the cookie plus the CSRF header).
        form = http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, "no CSRF token on the sign-in page"
        login = http.post(
            "/login",
            data={"email": ADMIN, "password": DEMO_PASSWORD, "csrf_token": token.group(1), "next": "/"},
        )
        assert login.status_code == 303, login.text
        page = http.get("/")
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        assert csrf
        headers = {"X-CSRF-Token": csrf.group(1)}
        owners = http.get("/api/v1/admin/users", params={"q": OWNER}, headers=headers).json()["items"]
        cinema = http.post(
            "/api/v1/cinemas",
            json={
                "name": "Browser Test Picturehouse",
                "city": "Porto",
                "timezone": "Europe/Lisbon",
                "address": "Rua dos Testes 1",
                "owner_id": owners[0]["id"],
            },
            headers=headers,
        )
        cinema.raise_for_status()
        screen = http.post(
            f"/api/v1/cinemas/{cinema.json()['id']}/screens",
            json={
                "name": "Sala 1",
                "formats": ["2D"],
                "layout": ["__AAAAAA__", "AAAAAAAAAA", "AAAA__AAAA", "PPPP__PPPP", "WC_AAAA_CW"],
            },
            headers=headers,
        )
        screen.raise_for_status()
        title = "The Browser Test"
        movie = http.post(
            "/api/v1/movies",
            json={"title": title, "runtime_minutes": 101, "synopsis": "Seats are picked, tickets are paid."},
            headers=headers,
        )
        movie.raise_for_status()
        starts = (datetime.now(UTC) + timedelta(days=1)).replace(hour=19, minute=0, second=0, microsecond=0)
        showtime = http.post(
            "/api/v1/showtimes",
            json={
                "movie_id": movie.json()["id"],
                "screen_id": screen.json()["id"],
                "starts_at": starts.isoformat(),
                "prices": {"standard": 900, "premium": 1300, "wheelchair": 900, "companion": 900},
            },
            headers=headers,
        )
        showtime.raise_for_status()
        return int(showtime.json()["id"]), title, int(cinema.json()["id"])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Start the app on a free port with migrated demo data; stop it at the end."""
    var_dir = tmp_path_factory.mktemp("browser-var")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BOXOFFICE_ENV": "development",
        "BOXOFFICE_VAR_DIR": str(var_dir),
        "BOXOFFICE_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'boxoffice.db'}",
        "BOXOFFICE_BASE_URL": base_url,
        "BOXOFFICE_LOG_LEVEL": "WARNING",
        "BOXOFFICE_REDIS_URL": "",
        "BOXOFFICE_SMTP_URL": "",
    }
    _cli(env, "migrate")
    _cli(env, "demo")
    log = (var_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "boxoffice.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + (var_dir / "server.log").read_text())
            time.sleep(0.2)
        showtime_id, title, cinema_id = _schedule_showtime(base_url)
        yield Server(base_url, var_dir, showtime_id, title, cinema_id)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (no browser download)."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture
async def context(browser: Browser, server: Server) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) at desktop size."""
    ctx = await browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture
async def page(context: BrowserContext) -> Page:
    """A tab in the fresh profile; JS errors fail the test."""
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.errors = errors  # type: ignore[attr-defined]
    return tab


async def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the page form."""
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("form.stack button[type=submit]")
    await page.wait_for_selector("text=Welcome back!")


async def shot(page: Page, name: str) -> None:
    """Keep a full-page screenshot as test output."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
