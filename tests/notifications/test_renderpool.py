"""The render process: builds run in a child, never in the worker (nor with fpdf2 in it); a child killed
mid-build costs one attempt, then the email goes out; the app's shutdown and a dead worker leave no child."""

from __future__ import annotations

import asyncio
import email
import email.policy
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.main import create_app
from boxoffice.notifications import attachments, renderpool
from boxoffice.notifications.attachments import Build
from boxoffice.notifications.sender import deliver_due
from tests.conftest import FrozenClock, make_settings
from tests.factories.accounts import outbox
from tests.factories.booking import book_and_pay, make_customer
from tests.factories.showtimes import make_showtime
from tests.notifications import builds
from tests.notifications.mail import TO, files_of, queue


def register(monkeypatch: pytest.MonkeyPatch, kind: str, build: Build) -> None:
    """A renderer of `kind` that reads nothing and has `build` made, for one test."""

    async def render(session: AsyncSession, args: dict[str, Any]) -> list[Build]:
        return [build]

    monkeypatch.setitem(attachments._renderers, kind, render)


def children() -> list[int]:
    """The pids of this process's live multiprocessing children."""
    return [p.pid for p in multiprocessing.active_children() if p.pid is not None]


def running(pid: int) -> bool:
    """True while `pid` is a live process (a zombie left to init counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False  # it went away while we looked


def attached(outbox_dir: Path, pattern: str) -> dict[str | None, bytes]:
    """The files attached to the one .eml of `outbox_dir` whose name matches `pattern`."""
    [path] = outbox_dir.glob(pattern)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


async def test_the_build_runs_in_a_child_of_the_worker(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(monkeypatch, "pid", Build("pid.txt", "text/plain", builds.pid))
    await queue(app, deferred=[("pid", {})])
    assert await deliver_due(app) == 1
    [row] = await outbox(app, to=TO)
    [(_, built_by)] = files_of(app, row)
    assert int(built_by) != os.getpid()
    assert int(built_by) in children()  # our render child, kept for the next email


async def test_the_worker_sends_the_tickets_without_loading_the_pdf_libraries(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = await make_showtime(app, rows=1, seats_per_row=4)
    alice = await make_customer(app)
    booking = await book_and_pay(client, alice, st.showtime_id, st.seat_ids[:2])
    for heavy in ("fpdf", "icalendar", "PIL"):
        monkeypatch.setitem(sys.modules, heavy, None)  # importing them here fails: only the child may
    assert await deliver_due(app) == 1
    [row] = await outbox(app, to=alice.user.email)
    assert row.status == "sent"
    reference = booking["reference"]
    files = attached(Path(app.state.settings.outbox_dir), f"{row.id}-*-{reference.lower()}.eml")
    assert sorted(files) == [f"showtime-{reference}.ics", f"tickets-{reference}.pdf"]
    assert files[f"tickets-{reference}.pdf"].startswith(b"%PDF-")
    assert b"BEGIN:VEVENT" in files[f"showtime-{reference}.ics"]


def pid_in(marker: Path) -> int:
    """The pid a build wrote to `marker`, once it has (within a minute)."""
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.05)
    return int(marker.read_text())


async def test_a_child_killed_mid_build_costs_one_attempt_then_the_email_goes_out(
    app: FastAPI,
    client: httpx.AsyncClient,
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "building.pid"
    build = Build("ticket.txt", "text/plain", builds.hang_first_time, (str(marker),))
    register(monkeypatch, "fragile", build)
    await queue(app, deferred=[("fragile", {})])
    sending = asyncio.create_task(deliver_due(app))
    killed = await asyncio.to_thread(pid_in, marker)
    os.kill(killed, signal.SIGKILL)  # the OOM killer, say
    assert await asyncio.wait_for(sending, 60) == 0
    [row] = await outbox(app, to=TO)
    assert (row.status, row.attempts) == ("pending", 1)
    assert str(row.last_error).startswith("BrokenProcessPool: ")
    assert await deliver_due(app) == 0  # not due again before its backoff
    frozen_clock.advance(seconds=31)
    assert await deliver_due(app) == 1
    [row] = await outbox(app, to=TO)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    [(_, built_by)] = files_of(app, row)
    assert int(built_by) not in (killed, os.getpid())  # a new child
    assert not running(killed)


async def test_the_app_shutdown_stops_the_render_child(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'db'}", tmp_path), run_background=False)
    async with app.router.lifespan_context(app):
        child = int(await renderpool.run(builds.pid))
        assert child in children()
    assert child not in children()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # exited and reaped
    again = int(await renderpool.run(builds.pid))  # the next email starts a new child
    assert again != child
    await renderpool.shutdown()
    assert again not in children()


WORKER = """
import asyncio
from boxoffice.notifications import renderpool
from tests.notifications import builds

async def main():
    print(int(await renderpool.run(builds.pid)), flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_a_killed_worker_takes_its_render_child_with_it() -> None:
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        assert running(child)
    finally:
        worker.kill()  # SIGKILL: no shutdown, no atexit
        worker.wait()
    deadline = time.monotonic() + 10
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    if running(child):
        os.kill(child, signal.SIGKILL)  # no orphan left behind by a failing run
        pytest.fail(f"render child {child} outlived its worker")
