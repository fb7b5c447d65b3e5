"""The authorization matrix: every route x {anonymous, customer A, customer B, owner X, owner Y, admin}.

Read a row as: `expect` = answers for anonymous, customer_a, customer_b, owner_x, owner_y, admin.
Owner X runs the cinema of the showtime that customer A booked; owner Y runs another cinema.
Rows are written from /work/shared/API.md; test_matrix.py fails when a route of the app has no row.
"""

from __future__ import annotations

import secrets
from typing import Any

from boxoffice.accounts.models import Role
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.reliability.matrix_ctx import API, CARD_OK, Ctx, Row

STRONG = "a much longer Passphrase 42 for tests"
FORGED = "forged-" + secrets.token_urlsafe(40)


def _email(_ctx: Ctx, actor: str) -> dict[str, Any]:
    return {
        "email": f"new-{actor}-{secrets.token_hex(3)}@example.com",
        "password": STRONG,
        "full_name": "New",
    }


async def _a_ref(ctx: Ctx, _actor: str) -> tuple[str]:
    return ((await ctx.booking_a())["reference"],)


async def _fresh_held_ref(ctx: Ctx, _actor: str) -> tuple[str]:
    return ((await ctx.booking("customer_a", paid=False))["reference"],)


async def _patch_ref(ctx: Ctx, _actor: str) -> tuple[str]:
    show = ctx.cache["patch_show"] = await ctx.fresh_showtime("owner_x")
    return ((await ctx.booking("customer_a", paid=False, show=show))["reference"],)


async def _fresh_paid_ref(ctx: Ctx, _actor: str) -> tuple[str]:
    return ((await ctx.booking("customer_a", paid=True))["reference"],)


async def _a_ticket_code(ctx: Ctx, _actor: str) -> dict[str, Any]:
    if "soon" not in ctx.cache:  # check-in opens shortly before the start
        ctx.cache["soon"] = await ctx.fresh_showtime("owner_x", starts_in_minutes=30)
    booking = await ctx.booking("customer_a", paid=True, show=ctx.cache["soon"])
    return {"code": booking["tickets"][0]["code"]}


async def _fresh_customer_id(ctx: Ctx, _actor: str) -> tuple[int]:
    return ((await ctx.fresh_user(Role.customer))[0],)


async def _fresh_show_x(ctx: Ctx, _actor: str) -> tuple[int]:
    return ((await ctx.fresh_showtime("owner_x")).showtime_id,)


async def _fresh_cinema_x(ctx: Ctx, _actor: str) -> tuple[int]:
    return ((await ctx.fresh_showtime("owner_x")).cinema_id,)


async def _fresh_screen_x(ctx: Ctx, _actor: str) -> tuple[int]:
    return (await ctx.screen("owner_x"),)


async def _fresh_genre(ctx: Ctx, _actor: str) -> tuple[int]:
    return (await ctx.genre(),)


async def _fresh_person(ctx: Ctx, _actor: str) -> tuple[int]:
    return (await ctx.person("owner_x"),)


async def _fresh_movie_x(ctx: Ctx, _actor: str) -> tuple[int]:
    return (await ctx.movie("owner_x"),)


def _show_x(ctx: Ctx, _actor: str) -> tuple[int]:
    return (ctx.world.show_x.showtime_id,)


def _cinema_x(ctx: Ctx, _actor: str) -> tuple[int]:
    return (ctx.world.show_x.cinema_id,)


def _screen_x(ctx: Ctx, _actor: str) -> tuple[int]:
    return (ctx.world.show_x.screen_id,)


def _user_b(ctx: Ctx, _actor: str) -> tuple[int]:
    return (ctx.uid("customer_b"),)


def _login_a(ctx: Ctx, _actor: str) -> dict[str, Any]:
    return {"email": ctx.world.users["customer_a"].email, "password": DEFAULT_PASSWORD}


def _form_login_a(ctx: Ctx, _actor: str) -> dict[str, Any]:
    return {"username": ctx.world.users["customer_a"].email, "password": DEFAULT_PASSWORD}


async def _screen_body(ctx: Ctx, _actor: str) -> dict[str, Any]:
    return {"name": f"S-{secrets.token_hex(3)}", "formats": ["2D"], "layout": ["AAAA", "AAAA"]}


def _showtime_body(ctx: Ctx, _actor: str) -> dict[str, Any]:
    import datetime as dt

    from boxoffice.kit.clock import utc_now

    start = utc_now() + dt.timedelta(days=30, hours=secrets.randbelow(500))
    return {
        "movie_id": ctx.world.show_x.movie_id,
        "screen_id": ctx.world.show_x.screen_id,
        "starts_at": start.isoformat(),
        "format": "2D",
        "language": "en",
        "prices": {"standard": 1000},
    }


PUBLIC = "ok ok ok ok ok ok"
SIGNED_IN_PAGE = "303 200 200 200 200 200"  # anonymous: redirected to /login?next=
SIGNED_IN_PAGE_FORM = "303 in in in in in"
STAFF_PAGE = "303 403 403 200 200 200"
ADMIN_PAGE = "303 403 403 403 403 200"
SIGNED_IN = "401 ok ok ok ok ok"
ADMIN_ONLY = "401 403 403 403 403 ok"
STAFF = "401 403 403 ok ok ok"
OWNER_X = "401 403 403 ok no ok"  # public resource of owner X: others see it but may not change it
BOOKING_READ = "401 ok 404 ok 404 ok"  # customer A's booking at owner X's cinema

# Routes whose cells fail today because of a defect reported to its owner (docs/reliability.md lists
# each with its reproducer). The matrix test still runs them, and fails when one starts to pass so
# that the entry is removed.
KNOWN_DEFECTS: dict[str, str] = {}

MATRIX: dict[str, Row] = {
    # operations and documentation
    "GET /healthz": Row(PUBLIC),
    "GET /readyz": Row(PUBLIC),
    "GET /metrics": Row(PUBLIC, note="operator endpoint; restrict at the proxy"),
    "GET /openapi.json": Row(PUBLIC),
    "GET /docs": Row(PUBLIC),
    "GET /docs/oauth2-redirect": Row(PUBLIC),
    # pages (signed-in page rows use the bearer header: pages must ignore it and read only the cookie)
    "GET /": Row(PUBLIC),
    "GET /login": Row("200 303 303 303 303 303"),
    "GET /favicon.ico": Row(PUBLIC),
    "GET /static/{path}": Row(PUBLIC, ids=("css/app.css",)),
    "GET /docs-assets/{path}": Row(PUBLIC, ids=("swagger-ui.css",)),
    "POST /logout": Row("303 303 303 303 303 303", csrf=True),
    "GET /register": Row("200 303 303 303 303 303"),
    "POST /register": Row(
        "in in in in in in", form=lambda c, a: {**_email(c, a), "password_confirm": STRONG}, csrf=True
    ),
    "POST /login": Row("in in in in in in", form=lambda c, a: _login_a(c, a), csrf=True),
    "GET /verify-email": Row(PUBLIC, query={"token": FORGED}),
    "POST /verify-email": Row("in in in in in in", form={"token": FORGED}, csrf=True),
    "GET /password/forgot": Row(PUBLIC),
    "POST /password/forgot": Row("in in in in in in", form={"email": "x@example.com"}, csrf=True),
    "GET /reset-password": Row(PUBLIC, query={"token": FORGED}),
    "POST /reset-password": Row("in in in in in in", form={"token": FORGED, "password": STRONG}, csrf=True),
    "GET /account": Row(SIGNED_IN_PAGE),
    "POST /account": Row(SIGNED_IN_PAGE_FORM, form={"full_name": "Renamed"}, csrf=True),
    "GET /account/password": Row(SIGNED_IN_PAGE),
    "POST /account/password": Row(
        SIGNED_IN_PAGE_FORM,
        form={"current_password": DEFAULT_PASSWORD, "new_password": STRONG},
        csrf=True,
        fresh_actor=Role.customer,
    ),
    "GET /account/two-factor": Row(SIGNED_IN_PAGE),
    "POST /account/two-factor/setup": Row(SIGNED_IN_PAGE_FORM, csrf=True, fresh_actor=Role.customer),
    "POST /account/two-factor/enable": Row(
        SIGNED_IN_PAGE_FORM, form={"otp": "000000"}, csrf=True, fresh_actor=Role.customer
    ),
    "POST /account/two-factor/disable": Row(
        SIGNED_IN_PAGE_FORM,
        form={"password": DEFAULT_PASSWORD, "otp": "000000"},
        csrf=True,
        fresh_actor=Role.customer,
    ),
    "GET /account/delete": Row(SIGNED_IN_PAGE),
    "POST /account/delete": Row(
        SIGNED_IN_PAGE_FORM, form={"password": DEFAULT_PASSWORD}, csrf=True, fresh_actor=Role.customer
    ),
    "POST /account/logout-all": Row(SIGNED_IN_PAGE_FORM, csrf=True, fresh_actor=Role.customer),
    "POST /account/resend-verification": Row(SIGNED_IN_PAGE_FORM, csrf=True, fresh_actor=Role.customer),
    "GET /cinemas": Row(PUBLIC),
    "GET /cinemas/{id}": Row(PUBLIC, ids=_cinema_x),
    "GET /movies/{id}": Row(PUBLIC, ids=_fresh_movie_x),
    "GET /showtimes/{id}": Row(PUBLIC, ids=_show_x),
    "GET /my/bookings": Row(SIGNED_IN_PAGE),
    "GET /bookings/{reference}": Row("303 200 404 200 404 200", ids=_a_ref),
    "GET /bookings/{reference}/checkout": Row("303 200 404 no 404 no", ids=_fresh_held_ref),
    "POST /bookings/{reference}/pay": Row(
        "303 in 404 no 404 no", ids=_fresh_held_ref, form={"card_number": CARD_OK}, csrf=True
    ),
    "POST /bookings/{reference}/cancel": Row("303 in 404 in 404 in", ids=_fresh_paid_ref, csrf=True),
    "GET /bookings/{reference}/change": Row("303 in 404 no 404 no", ids=_a_ref, note="its customer only"),
    "POST /bookings/{reference}/change": Row(
        "303 in 404 no 404 no", ids=_fresh_paid_ref, form={"seats": ""}, csrf=True, note="its customer only"
    ),
    "GET /backoffice": Row(STAFF_PAGE),
    "GET /backoffice/bookings": Row(STAFF_PAGE),
    "GET /backoffice/checkin": Row(STAFF_PAGE),
    "GET /backoffice/cinemas": Row(STAFF_PAGE),
    "GET /backoffice/cinemas/{id}/screens/new": Row("303 403 403 200 no 200", ids=_cinema_x),
    "GET /backoffice/movies": Row(STAFF_PAGE),
    "GET /backoffice/showtimes": Row(STAFF_PAGE),
    "GET /backoffice/users": Row(ADMIN_PAGE),
    "GET /backoffice/audit": Row(ADMIN_PAGE),
    "POST /backoffice/checkin": Row("303 403 403 in no in", form=_a_ticket_code, csrf=True),
    "POST /backoffice/cinemas": Row(
        "303 403 403 in in in",
        form={"name": "Page Cinema", "city": "Braga", "timezone": "Europe/Lisbon"},
        csrf=True,
    ),
    "POST /backoffice/cinemas/{id}/screens": Row(
        "303 403 403 in no in",
        ids=_cinema_x,
        form=lambda c, a: {"name": f"P{secrets.token_hex(3)}", "layout": "AAAA"},
        csrf=True,
    ),
    "POST /backoffice/genres": Row(
        "303 403 403 403 403 in", form=lambda c, a: {"name": f"PG {secrets.token_hex(3)}"}, csrf=True
    ),
    "POST /backoffice/movies": Row(
        "303 403 403 in in in", form={"title": "Page Movie", "runtime_minutes": "90"}, csrf=True
    ),
    "POST /backoffice/people": Row("303 403 403 in in in", form={"name": "Page Person"}, csrf=True),
    "POST /backoffice/showtimes/{id}/cancel": Row("303 403 403 in no in", ids=_fresh_show_x, csrf=True),
    "GET /backoffice/showtimes/{id}/edit": Row("303 403 403 200 no 200", ids=_show_x),
    "POST /backoffice/showtimes/{id}/edit": Row(
        "303 403 403 in no in", ids=_fresh_show_x, form={"language": "fr"}, csrf=True
    ),
    "GET /backoffice/showtimes/{id}/delete": Row("303 403 403 200 no 200", ids=_show_x),
    "POST /backoffice/showtimes/{id}/delete": Row("303 403 403 in no in", ids=_fresh_show_x, csrf=True),
    "GET /backoffice/cinemas/{id}/edit": Row("303 403 403 200 no 200", ids=_cinema_x),
    "POST /backoffice/cinemas/{id}/edit": Row(
        "303 403 403 in no in",
        ids=_fresh_cinema_x,
        form={"name": "Page Cinema Renamed", "city": "Porto", "timezone": "Europe/Lisbon"},
        csrf=True,
    ),
    "GET /backoffice/cinemas/{id}/delete": Row("303 403 403 200 no 200", ids=_cinema_x),
    "POST /backoffice/cinemas/{id}/delete": Row("303 403 403 in no in", ids=_fresh_cinema_x, csrf=True),
    "GET /backoffice/screens/{id}/edit": Row("303 403 403 200 no 200", ids=_screen_x),
    "POST /backoffice/screens/{id}/edit": Row(
        "303 403 403 in no in",
        ids=_fresh_screen_x,
        form=lambda c, a: {"name": f"E{secrets.token_hex(3)}", "layout": "AAAAA", "formats": "2D"},
        csrf=True,
    ),
    "GET /backoffice/screens/{id}/delete": Row("303 403 403 200 no 200", ids=_screen_x),
    "POST /backoffice/screens/{id}/delete": Row("303 403 403 in no in", ids=_fresh_screen_x, csrf=True),
    "GET /backoffice/movies/{id}/edit": Row("303 403 403 200 no 200", ids=_fresh_movie_x),
    "POST /backoffice/movies/{id}/edit": Row(
        "303 403 403 in no in",
        ids=_fresh_movie_x,
        form={"title": "Page Movie Cut", "runtime_minutes": "95"},
        csrf=True,
    ),
    "GET /backoffice/movies/{id}/delete": Row("303 403 403 200 no 200", ids=_fresh_movie_x),
    "POST /backoffice/movies/{id}/delete": Row("303 403 403 in no in", ids=_fresh_movie_x, csrf=True),
    "GET /backoffice/people/{id}/edit": Row("303 403 403 200 no 200", ids=_fresh_person),
    "POST /backoffice/people/{id}/edit": Row(
        "303 403 403 in no in", ids=_fresh_person, form={"name": "Page Person Renamed"}, csrf=True
    ),
    "GET /backoffice/people/{id}/delete": Row("303 403 403 200 no 200", ids=_fresh_person),
    "POST /backoffice/people/{id}/delete": Row("303 403 403 in no in", ids=_fresh_person, csrf=True),
    "GET /backoffice/genres/{id}/edit": Row(ADMIN_PAGE, ids=_fresh_genre),
    "POST /backoffice/genres/{id}/edit": Row(
        "303 403 403 403 403 in",
        ids=_fresh_genre,
        form=lambda c, a: {"name": f"PG {secrets.token_hex(3)}"},
        csrf=True,
    ),
    "GET /backoffice/genres/{id}/delete": Row(ADMIN_PAGE, ids=_fresh_genre),
    "POST /backoffice/genres/{id}/delete": Row("303 403 403 403 403 in", ids=_fresh_genre, csrf=True),
    "POST /backoffice/showtimes": Row(
        "303 403 403 in no in",
        form=lambda c, a: {
            "cinema_id": str(c.world.show_x.cinema_id),
            "movie_id": str(c.world.show_x.movie_id),
            "screen_id": str(c.world.show_x.screen_id),
            "date": "2031-01-0" + str(1 + len(a) % 9),
            "time": "20:00",
            "price_standard": "9.50",
        },
        csrf=True,
    ),
    "POST /backoffice/users": Row(
        "303 403 403 403 403 in",
        form=lambda c, a: {**_email(c, a), "full_name": "Staff", "role": "owner"},
        csrf=True,
    ),
    "POST /backoffice/users/{id}": Row(
        "303 403 403 403 403 in",
        ids=_fresh_customer_id,
        form={"role": "customer", "is_active": "on"},
        csrf=True,
    ),
    # accounts
    f"POST {API}/auth/register": Row("201 201 201 201 201 201", json=_email),
    f"POST {API}/auth/verify-email": Row("400 400 400 400 400 400", json={"token": FORGED}),
    f"POST {API}/auth/resend-verification": Row("202 202 202 202 202 202", json={"email": "x@example.com"}),
    f"POST {API}/auth/login": Row(PUBLIC, json=_login_a),
    f"POST {API}/auth/token": Row(PUBLIC, form=_form_login_a),
    f"POST {API}/auth/refresh": Row("401 401 401 401 401 401", json={"refresh_token": FORGED}),
    f"POST {API}/auth/logout": Row("401 in in in in in", json={"refresh_token": FORGED}),
    f"POST {API}/auth/logout-all": Row("401 ok ok ok ok ok", fresh_actor=Role.customer),
    f"POST {API}/auth/password/forgot": Row("202 202 202 202 202 202", json={"email": "x@example.com"}),
    f"POST {API}/auth/password/reset": Row(
        "400 400 400 400 400 400", json={"token": FORGED, "new_password": STRONG}
    ),
    f"GET {API}/me": Row(SIGNED_IN),
    f"PATCH {API}/me": Row(SIGNED_IN, json={"full_name": "Renamed"}),
    f"DELETE {API}/me": Row(SIGNED_IN, json={"password": DEFAULT_PASSWORD}, fresh_actor=Role.customer),
    f"POST {API}/me/password": Row(
        SIGNED_IN,
        json={"current_password": DEFAULT_PASSWORD, "new_password": STRONG},
        fresh_actor=Role.customer,
    ),
    f"POST {API}/me/mfa/totp/setup": Row(SIGNED_IN, fresh_actor=Role.customer),
    f"POST {API}/me/mfa/totp/enable": Row(
        "401 in in in in in", json={"otp": "000000"}, fresh_actor=Role.customer
    ),
    f"POST {API}/me/mfa/totp/disable": Row(
        "401 in in in in in", json={"password": DEFAULT_PASSWORD, "otp": "000000"}, fresh_actor=Role.customer
    ),
    f"GET {API}/me/bookings": Row(SIGNED_IN),
    f"GET {API}/me/export": Row(SIGNED_IN),
    f"GET {API}/admin/users": Row(ADMIN_ONLY),
    f"GET {API}/admin/audit": Row(ADMIN_ONLY),
    f"POST {API}/admin/users": Row(
        "401 403 403 403 403 201",
        json=lambda c, a: {**_email(c, a), "role": "owner"},
    ),
    f"GET {API}/admin/users/{{id}}": Row(ADMIN_ONLY, ids=_user_b),
    f"PATCH {API}/admin/users/{{id}}": Row(ADMIN_ONLY, ids=_fresh_customer_id, json={"is_active": False}),
    f"DELETE {API}/admin/users/{{id}}": Row(ADMIN_ONLY, ids=_fresh_customer_id),
    # catalogue
    f"GET {API}/genres": Row(PUBLIC),
    f"POST {API}/genres": Row(
        "401 403 403 403 403 201", json=lambda c, a: {"name": f"Genre {secrets.token_hex(4)}"}
    ),
    f"GET {API}/genres/{{id}}": Row(PUBLIC, ids=_fresh_genre),
    f"PATCH {API}/genres/{{id}}": Row(
        ADMIN_ONLY, ids=_fresh_genre, json=lambda c, a: {"name": f"G {a} {secrets.token_hex(3)}"}
    ),
    f"DELETE {API}/genres/{{id}}": Row(ADMIN_ONLY, ids=_fresh_genre),
    f"GET {API}/people": Row(PUBLIC),
    f"POST {API}/people": Row("401 403 403 201 201 201", json={"name": "New Person"}),
    f"GET {API}/people/{{id}}": Row(PUBLIC, ids=_fresh_person),
    # API.md says "admin, owner"; the catalogue lets an owner change only the people it created
    f"PATCH {API}/people/{{id}}": Row(OWNER_X, ids=_fresh_person, json={"bio": "Updated."}),
    f"DELETE {API}/people/{{id}}": Row(OWNER_X, ids=_fresh_person),
    f"GET {API}/movies": Row(PUBLIC),
    f"POST {API}/movies": Row("401 403 403 201 201 201", json={"title": "New Movie", "runtime_minutes": 95}),
    f"GET {API}/movies/{{id}}": Row(PUBLIC, ids=_fresh_movie_x),
    f"GET {API}/movies/{{id}}/poster.svg": Row(PUBLIC, ids=_fresh_movie_x),
    f"PATCH {API}/movies/{{id}}": Row(OWNER_X, ids=_fresh_movie_x, json={"synopsis": "Changed."}),
    f"DELETE {API}/movies/{{id}}": Row(OWNER_X, ids=_fresh_movie_x),
    # venues
    f"GET {API}/cinemas": Row(PUBLIC),
    f"POST {API}/cinemas": Row(
        "401 403 403 201 201 201", json={"name": "New Cinema", "city": "Porto", "timezone": "Europe/Lisbon"}
    ),
    f"GET {API}/cinemas/{{id}}": Row(PUBLIC, ids=_cinema_x),
    f"PATCH {API}/cinemas/{{id}}": Row(OWNER_X, ids=_cinema_x, json={"address": "1 Main Street"}),
    f"DELETE {API}/cinemas/{{id}}": Row(
        OWNER_X, ids=_fresh_cinema_x, note="a cinema with showtimes may answer 409"
    ),
    f"GET {API}/cinemas/{{id}}/screens": Row(PUBLIC, ids=_cinema_x),
    f"POST {API}/cinemas/{{id}}/screens": Row("401 403 403 201 no 201", ids=_cinema_x, json=_screen_body),
    f"GET {API}/screens/{{id}}": Row(PUBLIC, ids=_screen_x),
    f"PATCH {API}/screens/{{id}}": Row(OWNER_X, ids=_screen_x, json={"formats": ["2D", "3D"]}),
    f"DELETE {API}/screens/{{id}}": Row(OWNER_X, ids=_fresh_screen_x),
    # showtimes
    f"GET {API}/showtimes": Row(PUBLIC),
    f"POST {API}/showtimes": Row("401 403 403 201 no 201", json=_showtime_body),
    f"GET {API}/showtimes/{{id}}": Row(PUBLIC, ids=_show_x),
    f"PATCH {API}/showtimes/{{id}}": Row(OWNER_X, ids=_fresh_show_x, json={"language": "fr"}),
    f"DELETE {API}/showtimes/{{id}}": Row(OWNER_X, ids=_fresh_show_x),
    f"POST {API}/showtimes/{{id}}/cancel": Row(OWNER_X, ids=_fresh_show_x),
    f"GET {API}/showtimes/{{id}}/seats": Row(PUBLIC, ids=_show_x),
    f"GET {API}/showtimes/{{id}}/seats/best": Row(PUBLIC, ids=_show_x, query={"count": 2}),
    # booking
    f"POST {API}/bookings": Row(
        "401 201 201 403 403 403",
        note="API.md: a verified customer; staff accounts answer 403 customers_only",
        json=lambda c, a: {"showtime_id": c.world.show_y.showtime_id, "count": 1},
    ),
    f"GET {API}/bookings": Row(SIGNED_IN),
    f"GET {API}/bookings/{{reference}}": Row(BOOKING_READ, ids=_a_ref),
    f"GET {API}/bookings/{{reference}}/cancel-quote": Row(BOOKING_READ, ids=_a_ref),
    f"GET {API}/showtimes/{{id}}/events": Row(PUBLIC, ids=_show_x, stream=True),
    f"PATCH {API}/bookings/{{reference}}": Row(
        "401 in 404 no 404 no",
        ids=_patch_ref,
        json=lambda c, a: {"seat_ids": c.cache["patch_show"].seat_ids[1:2]},
    ),
    f"POST {API}/bookings/{{reference}}/pay": Row(
        "401 200 404 no 404 no", ids=_fresh_held_ref, json={"method": "card", "card_number": CARD_OK}
    ),
    f"POST {API}/bookings/{{reference}}/cancel": Row("401 ok 404 ok 404 ok", ids=_fresh_paid_ref),
    f"GET {API}/bookings/{{reference}}/tickets.pdf": Row(BOOKING_READ, ids=_a_ref),
    f"GET {API}/bookings/{{reference}}/calendar.ics": Row(BOOKING_READ, ids=_a_ref),
    f"GET {API}/cart": Row(SIGNED_IN),
    f"POST {API}/cart/checkout": Row("401 in in in in in", json={"method": "card", "card_number": CARD_OK}),
    f"DELETE {API}/cart": Row("401 ok ok ok ok ok"),
    f"POST {API}/checkin": Row("401 403 403 200 404 200", json=_a_ticket_code),
    f"POST {API}/payments/webhooks/stripe": Row("400 400 400 400 400 400", json={"type": "x"}),
    # analytics
    f"GET {API}/analytics/summary": Row(STAFF),
}
