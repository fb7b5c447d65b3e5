"""What booking services need from the running app: settings, the payment provider, the seat event bus."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from boxoffice.config import Settings
from boxoffice.errors import ServiceUnavailable
from boxoffice.kit.events import EventBus, InProcessBus
from boxoffice.payments.providers import PaymentProvider, ProviderError, get_provider


@dataclasses.dataclass(frozen=True)
class BookingContext:
    """The app-wide collaborators of the booking services."""

    settings: Settings
    provider: PaymentProvider
    events: EventBus


def context_for_app(app: FastAPI) -> BookingContext:
    """Build (once) and return the app's booking context."""
    state = app.state
    provider = getattr(state, "payment_provider", None)
    if provider is None:
        try:
            provider = get_provider(state.settings)
        except ProviderError as exc:  # e.g. PAYMENT_PROVIDER=stripe without a secret key
            raise ServiceUnavailable(
                f"Payments are not configured: {exc}.", code="payments_unavailable"
            ) from exc
        state.payment_provider = provider
    events = getattr(state, "events", None)
    if events is None:
        events = InProcessBus()
        state.events = events
    return BookingContext(settings=state.settings, provider=provider, events=events)


async def get_booking_context(request: Request) -> BookingContext:
    """The booking context of the app serving the request."""
    return context_for_app(request.app)


ContextDep = Annotated[BookingContext, Depends(get_booking_context)]
