"""The wake-up signal of the refund worker: set after a commit that owed a refund."""

from __future__ import annotations

import asyncio
import contextlib

_wakeup = asyncio.Event()


def wake_refunds() -> None:
    """Tell the refund worker there is a refund to send now (instead of at its next poll)."""
    _wakeup.set()


async def wait_for_refunds(seconds: float) -> None:
    """Sleep until woken or until `seconds` have passed."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_wakeup.wait(), timeout=seconds)
    _wakeup.clear()
