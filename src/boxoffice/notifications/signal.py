"""The wake-up signal of the outbox loop: set after a commit that queued an email."""

from __future__ import annotations

import asyncio
import contextlib

_wakeup = asyncio.Event()


def wake_outbox() -> None:
    """Tell the outbox loop there is mail to send now (instead of at its next poll)."""
    _wakeup.set()


async def wait_for_mail(seconds: float) -> None:
    """Sleep until woken or until `seconds` have passed."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_wakeup.wait(), timeout=seconds)
    _wakeup.clear()
