"""The cancellation policy: the refund share steps down as the showtime approaches (pure, no I/O).

Configured by the `cancellation_policy` setting (`BOXOFFICE_CANCELLATION_POLICY`), e.g.
"24h:100,2h:75,30m:50": at least 24 hours before the start the refund is 100%, from 2 hours 75%, from
30 minutes 50%; closer than the last step (or after the start) a customer can no longer cancel. Owners and
admins always cancel with a full refund.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from datetime import datetime, timedelta

_STEP = re.compile(r"^\s*(\d+)\s*([dhm])\s*:\s*(\d{1,3})\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@dataclasses.dataclass(frozen=True)
class Step:
    """From `before` ahead of the start (inclusive), `percent` of the price comes back."""

    before: timedelta
    percent: int


@dataclasses.dataclass(frozen=True)
class Quote:
    """What a cancellation would give back."""

    allowed: bool
    percent: int
    refund: int
    reason: str


@dataclasses.dataclass(frozen=True)
class CancellationPolicy:
    """Steps sorted from the earliest (largest `before`) to the latest."""

    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, spec: str) -> CancellationPolicy:
        """Read "24h:100,2h:75,30m:50"; ValueError for anything else."""
        steps: list[Step] = []
        for part in spec.split(","):
            match = _STEP.match(part)
            if not match:
                raise ValueError(f"bad cancellation policy step {part!r} (expected e.g. '24h:100')")
            amount, unit, percent = int(match[1]), match[2], int(match[3])
            if percent > 100:
                raise ValueError("a refund share cannot exceed 100%")
            steps.append(Step(timedelta(**{_UNITS[unit]: amount}), percent))
        if not steps:
            raise ValueError("empty cancellation policy")
        return cls(tuple(sorted(steps, key=lambda s: s.before, reverse=True)))

    def quote(self, *, paid: int, starts_at: datetime, now: datetime, full_refund: bool = False) -> Quote:
        """The refund for cancelling now a booking that cost `paid` and starts at `starts_at`."""
        if full_refund:
            return Quote(True, 100, paid, "Cancelled by the cinema or an administrator: full refund.")
        ahead = starts_at - now
        for step in self.steps:
            if ahead >= step.before:
                refund = paid * step.percent // 100
                return Quote(True, step.percent, refund, f"{_human(step.before)} or more before the start.")
        last = self.steps[-1].before
        return Quote(
            False, 0, 0, f"Bookings cannot be cancelled in the last {_human(last)} before the start."
        )


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{minutes} minutes"


@functools.lru_cache(maxsize=8)
def policy_for(spec: str) -> CancellationPolicy:
    """The policy of a settings value such as "24h:100,2h:75,30m:50" (parsed once)."""
    return CancellationPolicy.parse(spec)
