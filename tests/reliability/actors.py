"""The six actors of the authorization matrix and the world they live in, built in one call."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI

from boxoffice.accounts.models import Role, User
from tests.factories.accounts import auth_headers, make_user
from tests.factories.showtimes import BuiltShowtime, make_showtime

ACTORS = ("anonymous", "customer_a", "customer_b", "owner_x", "owner_y", "admin")


@dataclass
class World:
    """Two customers, two owners with a cinema and a showtime each, an admin; headers per actor."""

    users: dict[str, User]
    headers: dict[str, dict[str, str]]
    show_x: BuiltShowtime
    show_y: BuiltShowtime
    extra: dict[str, object] = field(default_factory=dict)

    def id(self, actor: str) -> int:
        """The user id of `actor`."""
        return self.users[actor].id


async def build_world(app: FastAPI) -> World:
    """Insert the actors and a cinema + showtime for each owner."""
    users = {
        "customer_a": await make_user(app, role=Role.customer, full_name="Customer A"),
        "customer_b": await make_user(app, role=Role.customer, full_name="Customer B"),
        "owner_x": await make_user(app, role=Role.owner, full_name="Owner X"),
        "owner_y": await make_user(app, role=Role.owner, full_name="Owner Y"),
        "admin": await make_user(app, role=Role.admin, full_name="Admin"),
    }
    headers = {"anonymous": {}} | {name: auth_headers(app, user) for name, user in users.items()}
    show_x = await make_showtime(app, owner_id=users["owner_x"].id, rows=4, seats_per_row=6)
    show_y = await make_showtime(app, owner_id=users["owner_y"].id, rows=4, seats_per_row=6)
    return World(users=users, headers=headers, show_x=show_x, show_y=show_y)
