"""Demo data for `make run`: accounts, then the catalogue (demo/catalog.py) and bookings (demo/bookings.py).

Each part is idempotent: it looks for what it would create before creating it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.security import hash_password
from boxoffice.config import Settings
from boxoffice.db import create_engine, create_sessionmaker, transaction
from boxoffice.kit.clock import utc_now

DEMO_ADMIN = ("admin@boxoffice.localhost", "Ada Admin", Role.admin)
DEMO_OWNER = ("owner@boxoffice.localhost", "Oscar Owner", Role.owner)
DEMO_CUSTOMER = ("customer@boxoffice.localhost", "Cleo Customer", Role.customer)
# Public, documented demo credentials for a local sandbox; `make run` prints them.
DEMO_PASSWORD = "popcorn-and-a-movie"  # noqa: S105


async def load_demo(settings: Settings, *, only_if_empty: bool = False) -> str:
    """Create the demo data once; running it again changes nothing."""
    engine = create_engine(settings.database_url, pool_size=1)
    factory = create_sessionmaker(engine)
    try:
        async with transaction(factory) as session:
            count = await session.scalar(select(func.count()).select_from(User))
            if only_if_empty and count:
                return "demo data already present"
            for email, name, role in (DEMO_ADMIN, DEMO_OWNER, DEMO_CUSTOMER):
                exists = await session.scalar(select(User.id).where(User.email == email))
                if exists is None:
                    session.add(
                        User(
                            email=email,
                            full_name=name,
                            role=role,
                            password_hash=hash_password(DEMO_PASSWORD),
                            email_verified_at=utc_now(),
                        )
                    )
            await session.flush()
            from boxoffice.demo.catalog import load_catalog

            admin = (await session.scalars(select(User).where(User.email == DEMO_ADMIN[0]))).first()
            owner = (await session.scalars(select(User).where(User.email == DEMO_OWNER[0]))).first()
            catalog_summary = await load_catalog(session, admin=admin, owner=owner)
            from boxoffice.demo.bookings import load_bookings

            customer = (await session.scalars(select(User).where(User.email == DEMO_CUSTOMER[0]))).first()
            catalog_summary += "; " + await load_bookings(session, settings=settings, customer=customer)
    finally:
        await engine.dispose()
    return (
        "demo accounts (password: popcorn-and-a-movie): "
        f"{DEMO_ADMIN[0]} (admin), {DEMO_OWNER[0]} (owner), {DEMO_CUSTOMER[0]} (customer); " + catalog_summary
    )
