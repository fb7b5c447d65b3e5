"""Seed the money race and crash tests in one call: an owner, one small showtime per round, many buyers.

Buyers are inserted in one statement (no password hashing) and get bearer tokens valid for a day; a real
server started with the same secret (tests.reliability.support.server_env) accepts them.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import create_access_token
from boxoffice.db import transaction
from boxoffice.kit.clock import utc_now
from boxoffice.main import create_app
from boxoffice.migrate import upgrade_async
from tests.conftest import make_settings
from tests.factories.showtimes import BuiltShowtime, make_showtime

API = "/api/v1"
CARD = "4242424242424242"


@dataclass(frozen=True)
class Buyer:
    """A verified customer (or the owner) and its bearer header."""

    user_id: int
    headers: dict[str, str]


@dataclass
class MoneySeed:
    """What `seed_rounds` built: round `i` uses `showtimes[i]` and `buyers_of(i)`."""

    owner: Buyer
    showtimes: list[BuiltShowtime]
    buyers: list[Buyer]
    per_round: int

    def buyers_of(self, round_no: int) -> list[Buyer]:
        """The buyers reserved for one round (nobody else uses them: their cart is theirs alone)."""
        return self.buyers[round_no * self.per_round : (round_no + 1) * self.per_round]


async def seed_rounds(
    url: str,
    var_dir: Path,
    *,
    rounds: int,
    buyers_per_round: int,
    rows: int = 1,
    seats_per_row: int = 8,
    migrate: bool = False,
) -> MoneySeed:
    """An owner, `rounds` showtimes (in two days) of its cinemas and `rounds * buyers_per_round` buyers."""
    if migrate:
        await upgrade_async(url)
    app = create_app(make_settings(url, var_dir, access_token_minutes=1440), run_background=False)
    settings = app.state.settings
    tag = secrets.token_hex(4)
    try:
        now = utc_now()
        people = [
            {
                "email": f"{kind}-{tag}-{i}@example.com",
                "full_name": f"{kind.title()} {i}",
                "password_hash": "!",
                "role": role,
                "is_active": True,
                "email_verified_at": now,
                "mfa_enabled": False,
                "created_at": now,
                "updated_at": now,
            }
            for kind, role, count in (
                ("owner", Role.owner, 1),
                ("buyer", Role.customer, rounds * buyers_per_round),
            )
            for i in range(count)
        ]
        async with transaction(app.state.sessionmaker) as session:
            await session.execute(insert(User), people)
            found = (
                await session.execute(
                    select(User.id, User.email, User.role).where(User.email.like(f"%-{tag}-%"))
                )
            ).all()
        by_email = {email: (uid, role) for uid, email, role in found}

        def buyer(email: str) -> Buyer:
            uid, role = by_email[email]
            token, _ = create_access_token(settings, user_id=uid, role=role.value)
            return Buyer(uid, {"Authorization": f"Bearer {token}"})

        owner = buyer(f"owner-{tag}-0@example.com")
        buyers = [buyer(f"buyer-{tag}-{i}@example.com") for i in range(rounds * buyers_per_round)]
        showtimes = [
            await make_showtime(app, rows=rows, seats_per_row=seats_per_row, owner_id=owner.user_id)
            for _ in range(rounds)
        ]
    finally:
        await app.state.shutdown()
    return MoneySeed(owner, showtimes, buyers, buyers_per_round)


@dataclass
class Tally:
    """Every answer of a test by status code (0: the connection failed) and by problem code."""

    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        """How many requests were sent."""
        return sum(self.statuses.values())

    def figures(self) -> dict[str, Any]:
        """The counts as plain JSON values."""
        return {
            "requests": self.requests,
            "answers": {str(k): v for k, v in sorted(self.statuses.items())},
            "codes": dict(sorted(self.codes.items())),
        }


@dataclass(frozen=True)
class Answer:
    """What one request got: its status (0 when the connection failed), problem code and JSON body."""

    status: int
    code: str
    body: Any

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300


async def call(
    client: httpx.AsyncClient, tally: Tally, method: str, path: str, who: Buyer, **kwargs: Any
) -> Answer:
    """Send one API request as `who`; never raises for HTTP errors or a dropped connection."""
    headers = {**who.headers, **kwargs.pop("headers", {})}
    try:
        response = await client.request(method, API + path, headers=headers, **kwargs)
    except httpx.HTTPError as exc:
        tally.statuses[0] += 1
        tally.codes[type(exc).__name__] += 1
        return Answer(0, type(exc).__name__, None)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    code = str(body.get("code", "")) if isinstance(body, dict) and response.status_code >= 400 else ""
    tally.statuses[response.status_code] += 1
    if code:
        tally.codes[code] += 1
    return Answer(response.status_code, code, body)


async def hold(
    client: httpx.AsyncClient, tally: Tally, who: Buyer, showtime_id: int, seat_ids: list[int]
) -> str:
    """Hold seats; the booking reference (asserts the 201: setup, not the race)."""
    answer = await call(
        client, tally, "POST", "/bookings", who, json={"showtime_id": showtime_id, "seat_ids": seat_ids}
    )
    assert answer.status == 201, answer
    return str(answer.body["reference"])


async def pay(
    client: httpx.AsyncClient, tally: Tally, who: Buyer, reference: str, *, key: str | None = None
) -> Answer:
    """Pay a booking with the good test card (optionally with an Idempotency-Key)."""
    headers = {"Idempotency-Key": key} if key else {}
    return await call(
        client,
        tally,
        "POST",
        f"/bookings/{reference}/pay",
        who,
        json={"method": "card", "card_number": CARD},
        headers=headers,
    )


async def confirmed(
    client: httpx.AsyncClient, tally: Tally, who: Buyer, showtime_id: int, seat_ids: list[int]
) -> str:
    """Hold and pay; the reference of the confirmed booking (asserts: setup, not the race)."""
    reference = await hold(client, tally, who, showtime_id, seat_ids)
    answer = await pay(client, tally, who, reference)
    assert answer.status == 200, answer
    return reference
