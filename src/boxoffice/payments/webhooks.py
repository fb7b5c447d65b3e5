"""Webhook plumbing: verified provider events are dispatched to the listeners registered for them.

Domains above payments (booking) register listeners, so payments never imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

Listener = Callable[[AsyncSession, FastAPI, str, dict[str, Any], str], Awaitable[None]]

_listeners: list[Listener] = []


def register_payment_listener(listener: Listener) -> None:
    """Call `listener(session, app, event_type, data_object, provider)` for every new provider event
    (registering twice is a no-op)."""
    if listener not in _listeners:
        _listeners.append(listener)


async def dispatch(
    session: AsyncSession, app: FastAPI, event_type: str, data: dict[str, Any], provider: str = "stripe"
) -> None:
    """Hand a new event of `provider` to every listener, in the webhook's transaction."""
    for listener in list(_listeners):
        await listener(session, app, event_type, data, provider)
