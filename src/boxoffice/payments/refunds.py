"""The refund worker: sends the refunds owed (rows of `refunds`, status pending) to the provider.

A refund row is written in the transaction that owes the money, so it survives any crash after that
commit. The worker leases due rows (a short transaction that skips rows another worker has locked), calls
the provider outside any transaction with the row's own idempotency key (a retry after a crash is a replay,
never a second refund), then marks the row succeeded, or reschedules it with exponential backoff. After
MAX_ATTEMPTS (about three days), or at once when the provider refuses it for good (`RefundRefused`: no retry
can fix it), it is marked failed and logged for a person; it still counts as owed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from boxoffice.payments import repository
from boxoffice.payments.models import Refund, RefundStatus
from boxoffice.payments.providers import PaymentProvider, ProviderError, RefundRefused
from boxoffice.payments.signal import wait_for_refunds

log = logging.getLogger("boxoffice.refunds")

MAX_ATTEMPTS = 80
BATCH = 50
LEASE = timedelta(minutes=2)  # the default of the `refund_lease_seconds` setting
POLL_SECONDS = 5.0


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 5 s, 10 s, 20 s... at most 1 h."""
    return min(timedelta(seconds=5 * 2 ** max(0, attempts - 1)), timedelta(hours=1))


async def _send(factory: async_sessionmaker[AsyncSession], provider: PaymentProvider, row: Refund) -> bool:
    async with transaction(factory, write=False) as session:
        payment = await repository.get_payment(session, row.payment_id)
    ref = payment.provider_ref if payment is not None else None
    now = utc_now()
    values: dict[str, object]
    try:
        if ref is None:
            raise ProviderError("the charge has no provider reference")
        result = await provider.refund(
            provider_ref=ref, amount=row.amount, idempotency_key=row.idempotency_key
        )
    except ProviderError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        if isinstance(exc, RefundRefused) or row.attempts >= MAX_ATTEMPTS:
            log.error(
                "refund %s of %s gave up after %s attempts: %s", row.id, row.amount, row.attempts, error
            )
            values = {"status": RefundStatus.failed, "last_error": error}
        else:
            log.warning("refund %s attempt %s failed, will retry: %s", row.id, row.attempts, error)
            values = {"next_attempt_at": now + backoff(row.attempts), "last_error": error}
        sent = False
    else:
        values = {
            "status": RefundStatus.succeeded,
            "provider_ref": result.provider_ref,
            "completed_at": now,
            "last_error": None,
        }
        sent = True
    async with transaction(factory) as session:
        await repository.update_refund(session, refund_id=row.id, values=values)
    return sent


async def send_due_refunds(
    factory: async_sessionmaker[AsyncSession], provider: PaymentProvider, *, lease: timedelta = LEASE
) -> int:
    """Send every refund that is due now; returns how many went through."""
    sent = 0
    while True:
        async with transaction(factory) as session:
            rows = list(await repository.claim_due_refunds(session, now=utc_now(), lease=lease, limit=BATCH))
        for row in rows:
            sent += await _send(factory, provider, row)
        if len(rows) < BATCH:
            return sent


async def run_refund_worker(
    factory: async_sessionmaker[AsyncSession], provider: PaymentProvider, *, lease: timedelta = LEASE
) -> None:
    """Background loop: send due refunds when woken after a commit, and every few seconds."""
    while True:
        try:
            await send_due_refunds(factory, provider, lease=lease)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("refund round failed")
        await wait_for_refunds(POLL_SECONDS)
