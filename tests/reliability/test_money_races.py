"""Money races against a real server: PostgreSQL, `boxoffice serve --workers 2`, 20 rounds per race.

Each round races requests that both want to move the same bookings (a showtime cancel against payments, a
customer's cancel, a cart checkout, two payments, two cancels, a seat change against a payment), each on a
fresh small showtime, then waits until the background work (payment reconciliation, refund jobs) has drained
and checks the money invariants of issue 11 in SQL (tests/reliability/money_invariants.py) plus the facts of
the race: who won, what ended where, how often money moved. Every round runs even after one failed; the test
fails at the end naming each broken round, and prints (and records) its figures.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from boxoffice.migrate import upgrade_async
from tests.conftest import create_pg_database, drop_pg_database, require_pg
from tests.factories.money import (
    CARD,
    Answer,
    Buyer,
    MoneySeed,
    Tally,
    call,
    confirmed,
    hold,
    pay,
    seed_rounds,
)
from tests.reliability.figures import record
from tests.reliability.money_invariants import BookingMoney, Db, ledger_money, open_db
from tests.reliability.support import free_port, server_env

pytestmark = pytest.mark.slow
ROUNDS = 20
ENDED = {"cancelled", "refunded", "expired"}
ROUND_TIMEOUT = 60.0
SPREAD = 0.15  # racing requests start at random moments within this many seconds: every order occurs


# --- the server: two workers on a private PostgreSQL database -------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def race_db() -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database for this module (required in CI)."""
    await require_pg()
    name, url = await create_pg_database()
    try:
        await upgrade_async(url)
        yield url
    finally:
        await drop_pg_database(name)


@dataclass
class Workers:
    """`python -m boxoffice.cli serve --workers 2` in its own process group (stopped as a whole)."""

    env: dict[str, str]
    workers: int = 2
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the server's output goes."""
        return Path(self.env["BOXOFFICE_VAR_DIR"]) / f"serve-{self.port}.log"

    def start(self, timeout: float = 90.0) -> None:
        """Start and wait for /readyz (a loaded 2-core box imports slowly); stopped again if it fails."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "boxoffice.cli", "serve", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*cmd, "--workers", str(self.workers)],
                env=self.env,
                cwd=self.log_path.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start:\n" + self.log_tail())
                time.sleep(0.2)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after 15 s; then SIGKILL to whatever of the group is left."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group is the server's own
        if self.proc.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_group(pgid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        _signal_group(pgid, signal.SIGKILL)  # a worker that outlived its supervisor

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server printed."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@pytest.fixture(scope="module")
def race_server(race_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """One two-worker server for the module; its refund worker and reconciler run every half second."""
    var_dir = tmp_path_factory.mktemp("race-var")
    env = server_env(
        race_db,
        var_dir,
        payment_reconcile_seconds="1",
        sweep_interval_seconds="0.5",
        max_held_bookings="10",
        db_pool_size="8",
        redis_url="",
    )
    server = Workers(env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- one race test: rounds, checks, figures -------------------------------------------------------------


@dataclass
class Race:
    """What a race test shares across its rounds: the client, the database, the answers, the failures."""

    name: str
    client: httpx.AsyncClient
    db: Db
    server: Workers
    tally: Tally = field(default_factory=Tally)
    seen: set[tuple[str, tuple[Any, ...]]] = field(default_factory=set)
    broken: dict[int, list[str]] = field(default_factory=dict)
    drained: list[float] = field(default_factory=list)
    ledger_checked: int = 0
    retries: int = 0

    def fail(self, round_no: int, message: str) -> None:
        """Note a broken fact of a round."""
        self.broken.setdefault(round_no, []).append(message)

    def expect(self, round_no: int, ok: bool, message: str) -> None:
        """Note `message` when `ok` is false."""
        if not ok:
            self.fail(round_no, message)

    async def run(self, *requests: Awaitable[Answer]) -> list[Answer]:
        """Send the racing requests at once; their answers in order (bounded)."""
        return list(await asyncio.wait_for(asyncio.gather(*requests), timeout=ROUND_TIMEOUT))

    async def baseline(self) -> None:
        """Violations left by earlier tests of the module are theirs: only new ones count here."""
        found = await self.db.violations()
        self.seen |= {(name, row) for name, rows in found.items() for row in rows}

    async def settle(self, round_no: int, showtime_id: int) -> dict[str, BookingMoney]:
        """Wait for the background work, check every invariant and the ledger; the round's bookings."""
        self.drained.append(await self.db.drain(within=15))
        found = await self.db.violations()
        new = {(name, row) for name, rows in found.items() for row in rows} - self.seen
        self.seen |= new
        for name in sorted({n for n, _ in new}):
            self.fail(round_no, f"invariant {name!r}: {[r for n, r in new if n == name][:3]}")
        money = await self.db.money(showtime_id=showtime_id)
        ledger = ledger_money(Path(self.server.env["BOXOFFICE_VAR_DIR"]), set(money))
        if ledger is not None:
            self.ledger_checked += 1
            paid, back = sum(m.paid for m in money.values()), sum(m.back for m in money.values())
            self.expect(
                round_no,
                (ledger.charged, ledger.refunded) == (paid, back),
                f"provider took {ledger.charged} and gave back {ledger.refunded}; the database says "
                f"{paid} and {back}",
            )
        return money

    def answers_sane(self, round_no: int, answers: list[Answer], allowed: set[int]) -> None:
        """Every answer one of `allowed` (a 5xx other than 503, or a dropped connection, is a bug)."""
        odd = [(a.status, a.code) for a in answers if a.status not in allowed]
        self.expect(round_no, not odd, f"unexpected answers {odd}")

    def finish(self, rounds: int, started: float) -> None:
        """Record and print the figures, then fail naming every broken round."""
        elapsed = time.monotonic() - started
        figures = {
            "rounds": rounds,
            **self.tally.figures(),
            "rounds_broken": len(self.broken),
            "drain_max_s": round(max(self.drained, default=0.0), 2),
            "ledger_rounds_checked": self.ledger_checked,
            "showtime_cancel_retries_after_503": self.retries,
            "elapsed_s": round(elapsed, 1),
        }
        record("money-races", {self.name: figures})
        print(  # noqa: T201
            f"\n{self.name}: {rounds} rounds, {self.tally.requests} requests, "
            f"answers {figures['answers']}, codes {figures['codes']}, "
            f"{len(self.broken)} rounds broken, {elapsed:.1f}s"
        )
        if self.broken:
            skipped = sorted(self.db.skipped)
            pytest.fail(
                f"{self.name}: {len(self.broken)} of {rounds} rounds broken"
                + (f" (skipped for missing columns: {skipped})" if skipped else "")
                + ":\n"
                + "\n".join(f"round {r}: " + "; ".join(m[:3]) for r, m in sorted(self.broken.items())),
                pytrace=False,
            )


@asynccontextmanager
async def race(name: str, server: Workers, url: str) -> AsyncIterator[Race]:
    """A Race with its client and database connection, both closed afterwards."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        open_db(url) as db,
        httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client,
    ):
        state = Race(name, client, db, server)
        await state.baseline()
        yield state


async def _seed(url: str, tmp_path: Path, buyers: int, seats: int = 8) -> MoneySeed:
    return await seed_rounds(url, tmp_path, rounds=ROUNDS, buyers_per_round=buyers, seats_per_row=seats)


async def _later(seconds: float, request: Awaitable[Answer]) -> Answer:
    await asyncio.sleep(seconds)
    return await request


def _cancel(r: Race, who: Buyer, reference: str) -> Awaitable[Answer]:
    return call(r.client, r.tally, "POST", f"/bookings/{reference}/cancel", who)


def _cancel_showtime(r: Race, seed: MoneySeed, showtime_id: int) -> Awaitable[Answer]:
    return call(r.client, r.tally, "POST", f"/showtimes/{showtime_id}/cancel", seed.owner)


async def _until_cancelled(r: Race, seed: MoneySeed, showtime_id: int, first: Answer) -> Answer:
    """The owner retries a showtime cancel that answered 503 (busy), as the contract allows, up to 5 times."""
    answer = first
    for _ in range(5):
        if answer.status != 503:
            break
        r.retries += 1
        await asyncio.sleep(0.3)
        answer = await _cancel_showtime(r, seed, showtime_id)
    return answer


def _refunded_once(r: Race, round_no: int, m: BookingMoney) -> None:
    """Money taken for the booking came back in full, one refund per charge."""
    r.expect(
        round_no,
        m.back == m.paid and m.refunds == m.charges,
        f"{m.reference} ({m.status}): paid {m.paid} in {m.charges} charges, "
        f"refunded {m.back} in {m.refunds} refunds",
    )


# --- the races ---------------------------------------------------------------------------------------------


async def test_showtime_cancel_vs_pay(race_server: Workers, race_db: str, tmp_path: Path) -> None:
    """The owner cancels the showtime while six customers pay their holds: nobody keeps paid seats."""
    seed = await _seed(race_db, tmp_path, buyers=6)
    rng = random.Random(11)
    started = time.monotonic()
    async with race("showtime_cancel_vs_pay", race_server, race_db) as r:
        for n in range(ROUNDS):
            show, buyers = seed.showtimes[n], seed.buyers_of(n)
            refs = await r.run(
                *(
                    _as_answer(hold(r.client, r.tally, b, show.showtime_id, [show.seat_ids[i]]))
                    for i, b in enumerate(buyers)
                )
            )
            answers = await r.run(
                *(
                    _later(rng.uniform(0, SPREAD), pay(r.client, r.tally, b, str(ref.body)))
                    for b, ref in zip(buyers, refs, strict=True)
                ),
                _later(rng.uniform(0, SPREAD), _cancel_showtime(r, seed, show.showtime_id)),
            )
            pays = answers[:-1]
            cancel = await _until_cancelled(r, seed, show.showtime_id, answers[-1])
            money = await r.settle(n, show.showtime_id)
            r.answers_sane(n, answers, {200, 402, 409, 503})
            r.expect(n, cancel.status == 200, f"showtime cancel answered {cancel.status} {cancel.code}")
            for ref, paid in zip(refs, pays, strict=True):
                m = money[str(ref.body)]
                r.expect(n, m.status in ENDED, f"{m.reference} of the cancelled showtime is {m.status}")
                _refunded_once(r, n, m)
                if paid.status == 200:
                    r.expect(n, m.paid > 0, f"{m.reference} answered 200 to its payment, nothing was taken")
        r.finish(ROUNDS, started)


async def test_showtime_cancel_vs_customer_cancel(race_server: Workers, race_db: str, tmp_path: Path) -> None:
    """Five customers cancel their paid bookings while the owner cancels the showtime: one refund each."""
    seed = await _seed(race_db, tmp_path, buyers=5)
    rng = random.Random(12)
    started = time.monotonic()
    async with race("showtime_cancel_vs_customer_cancel", race_server, race_db) as r:
        for n in range(ROUNDS):
            show, buyers = seed.showtimes[n], seed.buyers_of(n)
            refs = await r.run(
                *(
                    _as_answer(confirmed(r.client, r.tally, b, show.showtime_id, [show.seat_ids[i]]))
                    for i, b in enumerate(buyers)
                )
            )
            answers = await r.run(
                *(
                    _later(rng.uniform(0, SPREAD), _cancel(r, b, str(ref.body)))
                    for b, ref in zip(buyers, refs, strict=True)
                ),
                _later(rng.uniform(0, SPREAD), _cancel_showtime(r, seed, show.showtime_id)),
            )
            cancel = await _until_cancelled(r, seed, show.showtime_id, answers[-1])
            money = await r.settle(n, show.showtime_id)
            r.answers_sane(n, answers, {200, 409, 503})
            r.expect(n, cancel.status == 200, f"showtime cancel answered {cancel.status} {cancel.code}")
            for ref in refs:
                m = money[str(ref.body)]
                r.expect(n, m.status == "refunded", f"{m.reference} ended {m.status}, not refunded")
                _refunded_once(r, n, m)
        r.finish(ROUNDS, started)


async def test_cart_checkout_vs_cancel(race_server: Workers, race_db: str, tmp_path: Path) -> None:
    """Three customers each check out a cart of two holds while cancelling one of them."""
    seed = await _seed(race_db, tmp_path, buyers=3)
    rng = random.Random(13)
    started = time.monotonic()
    async with race("cart_checkout_vs_cancel", race_server, race_db) as r:
        for n in range(ROUNDS):
            show, buyers = seed.showtimes[n], seed.buyers_of(n)
            pairs: list[tuple[str, str]] = []
            for i, b in enumerate(buyers):
                first = await hold(r.client, r.tally, b, show.showtime_id, [show.seat_ids[2 * i]])
                second = await hold(r.client, r.tally, b, show.showtime_id, [show.seat_ids[2 * i + 1]])
                pairs.append((first, second))
            racing: list[Awaitable[Answer]] = []
            for b, (first, _) in zip(buyers, pairs, strict=True):
                checkout = call(
                    r.client,
                    r.tally,
                    "POST",
                    "/cart/checkout",
                    b,
                    json={"method": "card", "card_number": CARD},
                )
                cancelling = _cancel(r, b, first)
                racing += [
                    _later(rng.uniform(0, SPREAD / 2), checkout),
                    _later(rng.uniform(0, SPREAD / 2), cancelling),
                ]
            answers = await r.run(*racing)
            money = await r.settle(n, show.showtime_id)
            r.answers_sane(n, answers, {200, 402, 409, 503})
            for i, (first, second) in enumerate(pairs):
                checkout, cancel = answers[2 * i], answers[2 * i + 1]
                a, b2 = money[first], money[second]
                if cancel.status == 200:
                    r.expect(n, a.status in ENDED, f"{first} was cancelled (200) and is now {a.status}")
                if a.status != "confirmed":
                    _refunded_once(r, n, a)
                if checkout.status == 200:
                    r.expect(n, b2.status == "confirmed", f"checkout answered 200, {second} is {b2.status}")
                    r.expect(n, b2.charges == 1, f"{second} charged {b2.charges} times")
                elif checkout.status in (402, 409):
                    r.expect(n, b2.paid == b2.back, f"checkout refused, {second} paid {b2.paid}")
        r.finish(ROUNDS, started)


async def test_pay_twice_at_once(race_server: Workers, race_db: str, tmp_path: Path) -> None:
    """Two payments of one booking at once, with the same Idempotency-Key and without: one charge."""
    seed = await _seed(race_db, tmp_path, buyers=2)
    started = time.monotonic()
    async with race("pay_twice_at_once", race_server, race_db) as r:
        for n in range(ROUNDS):
            show, (keyed, bare) = seed.showtimes[n], seed.buyers_of(n)
            ref_keyed = await hold(r.client, r.tally, keyed, show.showtime_id, [show.seat_ids[0]])
            ref_bare = await hold(r.client, r.tally, bare, show.showtime_id, [show.seat_ids[1]])
            key = f"race-{n}-{ref_keyed}"
            answers = await r.run(
                pay(r.client, r.tally, keyed, ref_keyed, key=key),
                pay(r.client, r.tally, keyed, ref_keyed, key=key),
                pay(r.client, r.tally, bare, ref_bare),
                pay(r.client, r.tally, bare, ref_bare),
            )
            money = await r.settle(n, show.showtime_id)
            r.answers_sane(n, answers, {200, 409, 503})
            for ref, pair in ((ref_keyed, answers[:2]), (ref_bare, answers[2:])):
                m = money[ref]
                r.expect(n, any(a.status == 200 for a in pair), f"{ref}: no payment answered 200: {pair}")
                r.expect(n, m.status == "confirmed", f"{ref} is {m.status}")
                r.expect(n, m.charges == 1, f"{ref}: {m.charges} succeeded payments, one expected")
                r.expect(n, m.refunds == 0, f"{ref}: {m.refunds} refunds of a booking paid once")
                ledger = ledger_money(Path(race_server.env["BOXOFFICE_VAR_DIR"]), {ref})
                if ledger is not None:
                    r.expect(n, ledger.charges == 1, f"{ref}: the provider charged {ledger.charges} times")
            same = [a.status for a in answers[:2]]
            if same == [200, 200]:
                r.expect(n, answers[0].body == answers[1].body, "same key, two different 200 answers")
        r.finish(ROUNDS, started)


async def test_cancel_twice_at_once(race_server: Workers, race_db: str, tmp_path: Path) -> None:
    """Two cancels of one paid booking at once: one refund."""
    seed = await _seed(race_db, tmp_path, buyers=2)
    started = time.monotonic()
    async with race("cancel_twice_at_once", race_server, race_db) as r:
        for n in range(ROUNDS):
            show, buyers = seed.showtimes[n], seed.buyers_of(n)
            refs = [
                await confirmed(r.client, r.tally, b, show.showtime_id, [show.seat_ids[i]])
                for i, b in enumerate(buyers)
            ]
            answers = await r.run(
                *(_cancel(r, b, ref) for b, ref in zip(buyers, refs, strict=True) for _ in (0, 1))
            )
            money = await r.settle(n, show.showtime_id)
            r.answers_sane(n, answers, {200, 409, 503})
            for i, ref in enumerate(refs):
                m = money[ref]
                pair = answers[2 * i : 2 * i + 2]
                r.expect(n, any(a.status == 200 for a in pair), f"{ref}: no cancel answered 200")
                r.expect(n, m.status == "refunded", f"{ref} is {m.status}")
                r.expect(n, m.refunds == 1, f"{ref}: {m.refunds} refunds, one expected")
                _refunded_once(r, n, m)
        r.finish(ROUNDS, started)


async def test_change_vs_pay(race_server: Workers, race_db: str, tmp_path: Path) -> None:
    """A seat change against a payment: of another booking wanting the seat, and of the booking itself.

    (a) Customer A (confirmed on seat 0) moves to seat 1 while customer B pays its hold on seat 1, which has
    just run out (aged in SQL): seat 1 ends with exactly one of them. (b) Customer C changes its hold from
    seat 4 to seat 5 (same price) while paying it: one charge, and the seats sold are the booking's seats.
    """
    seed = await _seed(race_db, tmp_path, buyers=3)
    started = time.monotonic()
    async with race("change_vs_pay", race_server, race_db) as r:
        for n in range(ROUNDS):
            show, (a, b, c) = seed.showtimes[n], seed.buyers_of(n)
            seats = show.seat_ids
            ref_a = await confirmed(r.client, r.tally, a, show.showtime_id, [seats[0]])
            ref_b = await hold(r.client, r.tally, b, show.showtime_id, [seats[1]])
            ref_c = await hold(r.client, r.tally, c, show.showtime_id, [seats[4]])
            await _age_hold(r.db, ref_b)
            answers = await r.run(
                _change(r, a, ref_a, [seats[1]]),
                pay(r.client, r.tally, b, ref_b),
                _change(r, c, ref_c, [seats[5]]),
                pay(r.client, r.tally, c, ref_c),
            )
            money = await r.settle(n, show.showtime_id)
            r.answers_sane(n, answers, {200, 402, 409, 503})
            moved, paid_b = answers[0], answers[1]
            r.expect(
                n,
                not (moved.status == 200 and paid_b.status == 200),
                f"seat 1 went to {ref_a} (change 200) and to {ref_b} (payment 200)",
            )
            owners = await _seat_owners(r.db, show.showtime_id, [seats[1]])
            if moved.status == 200:
                r.expect(n, owners == {seats[1]: ref_a}, f"change answered 200, seat 1 owned by {owners}")
            if paid_b.status == 200:
                r.expect(n, owners == {seats[1]: ref_b}, f"payment answered 200, seat 1 owned by {owners}")
            mb, mc = money[ref_b], money[ref_c]
            if mb.status != "confirmed":
                _refunded_once(r, n, mb)
            r.expect(n, money[ref_a].status == "confirmed", f"{ref_a} is {money[ref_a].status}")
            if answers[3].status == 200:
                r.expect(n, mc.status == "confirmed", f"{ref_c} paid (200) and is {mc.status}")
                r.expect(n, mc.charges == 1, f"{ref_c}: {mc.charges} charges for a same-price change")
        r.finish(ROUNDS, started)


# --- helpers of the races -------------------------------------------------------------------------------


async def _as_answer(reference: Awaitable[str]) -> Answer:
    """A setup step's reference wrapped as an Answer, to run it among others with Race.run."""
    return Answer(201, "", await reference)


def _change(r: Race, who: Buyer, reference: str, seat_ids: list[int]) -> Awaitable[Answer]:
    return call(
        r.client,
        r.tally,
        "PATCH",
        f"/bookings/{reference}",
        who,
        json={"seat_ids": seat_ids, "card_number": CARD},
    )


async def _age_hold(db: Db, reference: str) -> None:
    """Make a hold run out now (expiry before its creation), as if its ten minutes had passed."""
    await db.execute(
        "UPDATE bookings SET expires_at = created_at - interval '1 minute' WHERE reference = ?", reference
    )
    await db.execute(
        "UPDATE showtime_seats SET hold_expires_at = b.expires_at FROM bookings b"
        " WHERE b.id = showtime_seats.booking_id AND b.reference = ? AND showtime_seats.status = 'held'",
        reference,
    )


async def _seat_owners(db: Db, showtime_id: int, seat_ids: list[int]) -> dict[int, str]:
    """Which booking each of the seats is sold to (seats not sold are left out)."""
    rows = await db.fetch(
        "SELECT s.seat_id, b.reference FROM showtime_seats s JOIN bookings b ON b.id = s.booking_id"
        " WHERE s.showtime_id = ? AND s.status = 'sold'",
        showtime_id,
    )
    return {int(seat): str(ref) for seat, ref in rows if seat in seat_ids}
