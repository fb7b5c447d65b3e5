"""Attachments rendered by the sender: inline and deferred files in order, a failing or missing renderer
retried with the sender's backoff, an obsolete email skipped for good."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.notifications import attachments
from boxoffice.notifications.attachments import Build, Obsolete
from boxoffice.notifications.models import OutboxEmail
from boxoffice.notifications.sender import deliver_due
from tests.conftest import FrozenClock
from tests.factories.accounts import outbox
from tests.notifications import builds
from tests.notifications.mail import TO, files_of, queue


class Echo:
    """A test renderer: reads the database, then has `<name>.txt` built (in the render process)."""

    def __init__(self) -> None:
        self.failing: Exception | None = None

    async def __call__(self, session: AsyncSession, args: dict[str, Any]) -> list[Build]:
        if self.failing is not None:
            raise self.failing
        queued = await session.scalar(select(func.count()).select_from(OutboxEmail))
        name = str(args["name"])
        return [Build(f"{name}.txt", "text/plain", builds.text, (f"{name}: {queued} queued",))]


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> Echo:
    """The `echo` renderer, registered for one test."""
    renderer = Echo()
    monkeypatch.setitem(attachments._renderers, "echo", renderer)
    return renderer


async def test_inline_and_deferred_files_are_attached_in_order(
    app: FastAPI, client: httpx.AsyncClient, echo: Echo
) -> None:
    await queue(
        app,
        attachments=[("a.txt", "text/plain", b"inline")],
        deferred=[("echo", {"name": "b"}), ("echo", {"name": "c"})],
    )
    [row] = await outbox(app, to=TO)
    assert [sorted(entry) for entry in row.attachments] == [
        ["content_type", "data_b64", "filename"],
        ["args", "render"],
        ["args", "render"],
    ]
    assert await deliver_due(app) == 1
    assert files_of(app, row) == [("a.txt", "inline"), ("b.txt", "b: 1 queued"), ("c.txt", "c: 1 queued")]


FAULTS = {
    "renderer fails": "RuntimeError: database hiccup",
    # e.g. a worker of an older release, which does not know the kind yet
    "renderer missing": "LookupError: no attachment renderer registered for 'echo'",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_renderer_fault_is_retried_with_backoff(
    app: FastAPI,
    client: httpx.AsyncClient,
    echo: Echo,
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    if fault == "renderer fails":
        echo.failing = RuntimeError("database hiccup")
    else:
        monkeypatch.delitem(attachments._renderers, "echo")
    await queue(app, deferred=[("echo", {"name": "late"})])
    assert await deliver_due(app) == 0
    [row] = await outbox(app, to=TO)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, FAULTS[fault])
    assert await deliver_due(app) == 0  # not due again before its backoff
    echo.failing = None
    monkeypatch.setitem(attachments._renderers, "echo", echo)
    frozen_clock.advance(seconds=31)
    assert await deliver_due(app) == 1
    [row] = await outbox(app, to=TO)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert files_of(app, row) == [("late.txt", "late: 1 queued")]


async def test_an_obsolete_email_is_skipped_and_never_retried(
    app: FastAPI, client: httpx.AsyncClient, echo: Echo, frozen_clock: FrozenClock
) -> None:
    echo.failing = Obsolete("the booking was refunded")
    await queue(app, deferred=[("echo", {"name": "never"})])
    assert await deliver_due(app) == 0
    frozen_clock.advance(hours=2)
    assert await deliver_due(app) == 0
    [row] = await outbox(app, to=TO)
    assert (row.status, row.attempts, row.last_error) == ("skipped", 1, "the booking was refunded")
    assert row.sent_at is None
