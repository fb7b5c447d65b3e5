"""The large database of the scale scenario: 10,000 showtimes, 1,000,000 tickets, 100,000 users.

Built with set-based SQL (generate_series) in about a minute, on top of the same demo data and bench
fixture as the small database, and cached between runs under a fixed name: it is rebuilt only when the
migration heads or this generator change (the stamp is kept in a `bench_meta` table).

Shape: 50 cinemas x 4 screens of 300 seats; each screen plays one showtime a day for 50 days (25 past,
25 to come) = 10,000 showtimes and 3,000,000 seat-inventory rows; the first five rows of every showtime
are sold in 25 confirmed bookings of 4 seats = 250,000 bookings, 1,000,000 booking items and tickets.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.seed import (
    BenchFixture,
    create_fixture,
    engine_for,
    load_demo_data,
    migrate,
    pg_database_exists,
    pg_url,
    recreate_pg_database,
)
from boxoffice.accounts.security import hash_password
from boxoffice.config import Settings

GENERATOR_VERSION = "4"
LARGE_PG_DB = "boxoffice_bench_large"
USERS = 100_000
CINEMAS = 50
SCREENS_PER_CINEMA = 4
DAYS = 50
MOVIES = 100
SOLD_ROWS = 5  # of 15: 100 of 300 seats sold per showtime


@dataclass
class LargeDatabase:
    """Where the large database is and the ids of its bench fixture."""

    url: str
    fixture: BenchFixture
    counts: dict[str, int]
    reused: bool

    def describe(self) -> dict[str, Any]:
        """Row counts and whether the cached copy was reused."""
        return {"reused_cache": self.reused, **self.counts}


PG_STEPS = [
    (
        "users",
        """INSERT INTO users (email, full_name, password_hash, role, is_active, mfa_enabled,
                              email_verified_at, created_at, updated_at)
           SELECT 'large-' || g || '@bench.example.com', 'Large User ' || g, $1, 'customer', true, false,
                  now(), now(), now()
             FROM generate_series(1, $2::int) g""",
    ),
    (
        "cinemas",
        """INSERT INTO cinemas (name, address, city, timezone, cleaning_minutes, owner_id, created_at)
           SELECT 'Large Cinema ' || g, g || ' Big Street', 'City ' || (g % 10), 'UTC', 15, NULL, now()
             FROM generate_series(1, $1::int) g""",
    ),
    (
        "screens",
        """INSERT INTO screens (cinema_id, name, formats, layout, seat_count, created_at)
           SELECT c.id, 'Screen ' || s, '["2D"]', $1::json, 300, now()
             FROM cinemas c CROSS JOIN generate_series(1, $2::int) s
            WHERE c.name LIKE 'Large Cinema %'""",
    ),
    (
        "seats",
        """INSERT INTO seats (screen_id, "row", number, x, y, type)
           SELECT sc.id, chr(65 + r), n + 1, n, r, 'standard'
             FROM screens sc JOIN cinemas c ON c.id = sc.cinema_id
                  CROSS JOIN generate_series(0, 14) r CROSS JOIN generate_series(0, 19) n
            WHERE c.name LIKE 'Large Cinema %'""",
    ),
    (
        "movies",
        """INSERT INTO movies (title, title_search, synopsis, runtime_minutes, certificate, original_language,
                               production_company, created_at)
           SELECT 'Large Movie ' || g, 'large movie ' || g, 'A generated film.', 100, '12', 'en',
                  'Generated Pictures', now()
             FROM generate_series(1, $1::int) g""",
    ),
    (
        "showtimes",
        """WITH m AS (SELECT min(id) AS first FROM movies WHERE title LIKE 'Large Movie %')
           INSERT INTO showtimes (movie_id, screen_id, cinema_id, starts_at, ends_at, format, language,
                                  subtitles, prices, currency, sales_close_at, status, seats_total,
                                  created_at)
           SELECT m.first + ((sc.id + d) % $1::int), sc.id, sc.cinema_id, t.starts,
                  t.starts + interval '115 min', '2D', 'en', NULL,
                  '{"standard": 1200, "premium": 1600, "recliner": 2000, "wheelchair": 1200,
                    "companion": 1200}',
                  'EUR', t.starts, 'scheduled', 300, now()
             FROM m, screens sc JOIN cinemas c ON c.id = sc.cinema_id
                  CROSS JOIN generate_series(0, $2::int - 1) d
                  CROSS JOIN LATERAL (SELECT date_trunc('day', now()) + (d - $2::int / 2) * interval '1 day'
                                             + interval '12 hours' + (sc.id % 8) * interval '75 min'
                                             AS starts) t
            WHERE c.name LIKE 'Large Cinema %'""",
    ),
    (
        "bookings",
        """WITH u AS (SELECT min(id) AS first FROM users WHERE email LIKE 'large-%')
           INSERT INTO bookings (reference, user_id, showtime_id, cinema_id, status, expires_at,
                                 grace_used, total_amount, refunded_amount, currency, created_at,
                                 updated_at, confirmed_at)
           SELECT 'L' || st.id || 'K' || k, u.first + ((st.id * 25 + k) % $1::int), st.id, st.cinema_id,
                  'confirmed', st.starts_at, false, 4800, 0, 'EUR', now(), now(), now()
             FROM u, showtimes st JOIN cinemas c ON c.id = st.cinema_id
                  CROSS JOIN generate_series(0, 24) k
            WHERE c.name LIKE 'Large Cinema %'""",
    ),
    (
        "showtime_seats",
        """INSERT INTO showtime_seats (showtime_id, seat_id, "row", number, x, y, seat_type, price, status,
                                       booking_id, holder_id, hold_expires_at, version)
           SELECT st.id, s.id, s."row", s.number, s.x, s.y, 'standard', 1200,
                  CASE WHEN b.id IS NULL THEN 'available' ELSE 'sold' END, b.id, b.user_id, NULL, 0
             FROM showtimes st JOIN cinemas c ON c.id = st.cinema_id
                  JOIN seats s ON s.screen_id = st.screen_id
                  LEFT JOIN bookings b
                         ON s.y < $1::int AND b.reference = 'L' || st.id || 'K' || ((s.y * 20 + s.x) / 4)
            WHERE c.name LIKE 'Large Cinema %'""",
    ),
    (
        "booking_items",
        """INSERT INTO booking_items (booking_id, seat_id, "row", number, seat_type, price)
           SELECT ss.booking_id, ss.seat_id, ss."row", ss.number, ss.seat_type, ss.price
             FROM showtime_seats ss JOIN showtimes st ON st.id = ss.showtime_id
                  JOIN cinemas c ON c.id = st.cinema_id
            WHERE c.name LIKE 'Large Cinema %' AND ss.booking_id IS NOT NULL AND ss.status = 'sold'""",
    ),
    (
        "tickets",
        """INSERT INTO tickets (booking_id, showtime_id, seat_id, "row", number, price, status, code,
                                created_at)
           SELECT ss.booking_id, ss.showtime_id, ss.seat_id, ss."row", ss.number, ss.price, 'valid',
                  'bench-' || ss.showtime_id || '-' || ss.seat_id, now()
             FROM showtime_seats ss JOIN showtimes st ON st.id = ss.showtime_id
                  JOIN cinemas c ON c.id = st.cinema_id
            WHERE c.name LIKE 'Large Cinema %' AND ss.booking_id IS NOT NULL AND ss.status = 'sold'""",
    ),
]


def _step_args(name: str, password_hash: str) -> tuple[Any, ...]:
    layout = json.dumps(["A" * 20] * 15)
    return {
        "users": (password_hash, USERS),
        "cinemas": (CINEMAS,),
        "screens": (layout, SCREENS_PER_CINEMA),
        "seats": (),
        "movies": (MOVIES,),
        "showtimes": (MOVIES, DAYS),
        "bookings": (USERS,),
        "showtime_seats": (SOLD_ROWS,),
        "booking_items": (),
        "tickets": (),
    }[name]


async def _stamp(conn: asyncpg.Connection) -> str:
    heads = [r["version_num"] for r in await conn.fetch("SELECT version_num FROM alembic_version ORDER BY 1")]
    return f"{GENERATOR_VERSION}:{','.join(heads)}"


async def _cached(url: str) -> LargeDatabase | None:
    if not await pg_database_exists(LARGE_PG_DB):
        return None
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_meta') IS NOT NULL"):
            return None
        meta = dict(await conn.fetch("SELECT key, value FROM bench_meta"))
        # Compare with the heads the code would migrate to: apply pending migrations, then compare.
    finally:
        await conn.close()
    await migrate(url)
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        if meta.get("stamp") != await _stamp(conn):
            return None
    finally:
        await conn.close()
    return LargeDatabase(url, BenchFixture(**json.loads(meta["fixture"])), json.loads(meta["counts"]), True)


async def ensure_large_database(backend: str, work: Path, *, secret: str, var_dir: Path) -> LargeDatabase:
    """The cached large PostgreSQL database, built first when missing or stale."""
    if backend != "postgresql":
        raise NotImplementedError("the large database is generated on PostgreSQL only")
    url = pg_url(LARGE_PG_DB)
    cached = await _cached(url)
    if cached is not None:
        return cached
    url = await recreate_pg_database(LARGE_PG_DB)
    await migrate(url)
    settings = Settings(env="production", database_url=url, secret_key=secret, var_dir=var_dir)
    await load_demo_data(settings)
    engine = engine_for(url)
    try:
        fixture = await create_fixture(engine)
    finally:
        await engine.dispose()
    password_hash = hash_password("large-user-password-unused")
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    counts: dict[str, int] = {}
    try:
        for name, sql in PG_STEPS:
            status = await conn.execute(sql, *_step_args(name, password_hash))
            counts[name] = int(status.split()[-1])
        await conn.execute("VACUUM ANALYZE")
        # Write the build's dirty pages now: otherwise the checkpointer does it during the first measured
        # calls (the first run of this scenario after a rebuild measured the seat map 1.7x slower).
        await conn.execute("CHECKPOINT")
        await conn.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        await conn.executemany(
            "INSERT INTO bench_meta (key, value) VALUES ($1, $2)",
            [
                ("stamp", await _stamp(conn)),
                ("fixture", json.dumps(asdict(fixture))),
                ("counts", json.dumps(counts)),
            ],
        )
    finally:
        await conn.close()
    return LargeDatabase(url, fixture, counts, False)
