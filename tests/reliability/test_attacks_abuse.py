"""Attacks, each a test (part 2): mass assignment, oversized and nested bodies, enumeration, brute force,
forged ticket codes. Both backends."""

from __future__ import annotations

import secrets
import time

import httpx
from fastapi import FastAPI

from boxoffice.accounts.models import Role
from tests.factories.accounts import DEFAULT_PASSWORD, auth_headers, make_user
from tests.factories.showtimes import make_showtime
from tests.reliability.test_attacks import API, CARD_OK, page_login, tried

# --- mass assignment ----------------------------------------------------------------------------------


async def test_mass_assignment_of_role_verification_and_prices_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    r = await client.post(
        f"{API}/auth/register",
        json={
            "email": "mallory@example.com",
            "password": "a much longer Passphrase 42",
            "full_name": "M",
            "role": "admin",
        },
    )
    tried("mass_assignment")
    assert r.status_code == 422, r.text
    for extra in (
        {"role": "admin"},
        {"is_active": True},
        {"email_verified": True},
        {"mfa_enabled": False},
        {"id": 1},
    ):
        r = await client.post(
            f"{API}/auth/register",
            json={
                "email": f"m{secrets.token_hex(3)}@example.com",
                "password": "a much longer Passphrase 42",
                "full_name": "M",
                **extra,
            },
        )
        tried("mass_assignment")
        assert r.status_code == 422, (extra, r.status_code)
    customer = await make_user(app)
    headers = auth_headers(app, customer)
    for extra in ({"role": "admin"}, {"is_active": False}, {"email_verified_at": "2020-01-01T00:00:00Z"}):
        r = await client.patch(f"{API}/me", json={"full_name": "C", **extra}, headers=headers)
        tried("mass_assignment")
        assert r.status_code == 422, (extra, r.status_code)
    assert (await client.get(f"{API}/me", headers=headers)).json()["role"] == "customer"
    show = await make_showtime(app, rows=2, seats_per_row=3)
    for extra in (
        {"price": 1},
        {"total": {"amount": 1, "currency": "EUR"}},
        {"status": "confirmed"},
        {"user_id": 1},
        {"prices": {"standard": 1}},
    ):
        r = await client.post(
            f"{API}/bookings",
            json={"showtime_id": show.showtime_id, "seat_ids": show.seat_ids[:1], **extra},
            headers=headers,
        )
        tried("mass_assignment")
        assert r.status_code == 422, (extra, r.status_code, r.text)
    r = await client.post(
        f"{API}/bookings",
        json={"showtime_id": show.showtime_id, "seat_ids": show.seat_ids[:1]},
        headers=headers,
    )
    assert r.status_code == 201
    assert r.json()["total"]["amount"] == 1200, "the price is the showtime's, whatever the client says"
    r = await client.patch(
        f"{API}/showtimes/{show.showtime_id}", json={"prices": {"standard": 1}}, headers=headers
    )
    tried("mass_assignment")
    assert r.status_code == 403


# --- oversized and nested bodies ----------------------------------------------------------------------


async def test_oversized_and_deeply_nested_bodies_are_4xx(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    headers = {**auth_headers(app, user), "content-type": "application/json"}
    big = b'{"full_name": "' + b"x" * 2_000_000 + b'"}'
    for path in (f"{API}/auth/login", f"{API}/auth/register", f"{API}/bookings", "/login"):
        r = await client.post(path, content=big, headers=headers)
        tried("bodies")
        assert r.status_code == 413, (path, r.status_code)

    # (the same body sent chunked, and JSON nested 100,000 deep: test_regressions.py)
    for depth in (100, 900, 5_000):
        nested = b"[" * depth + b"]" * depth
        deep_obj = b'{"a":' * depth + b"1" + b"}" * depth
        for body in (nested, deep_obj):
            for path in (f"{API}/auth/login", f"{API}/bookings", f"{API}/me"):
                method = "PATCH" if path.endswith("/me") else "POST"
                r = await client.request(method, path, content=body, headers=headers)
                tried("bodies")
                assert r.status_code in (413, 422), (path, depth, r.status_code)
                assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.patch(f"{API}/me", json={"full_name": "x" * 10_000}, headers=headers)
    tried("bodies")
    assert r.status_code == 422


# --- enumeration --------------------------------------------------------------------------------------


def _same(a: httpx.Response, b: httpx.Response) -> bool:
    ja, jb = a.json(), b.json()
    ja.pop("request_id", None)
    jb.pop("request_id", None)
    return a.status_code == b.status_code and ja == jb


async def test_emails_and_booking_references_cannot_be_enumerated(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await make_user(app)
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    for path in (f"{API}/auth/password/forgot", f"{API}/auth/resend-verification"):
        known_r = await client.post(path, json={"email": user.email})
        unknown_r = await client.post(path, json={"email": unknown})
        tried("enumeration", 2)
        assert known_r.status_code == unknown_r.status_code == 202
        assert known_r.content == unknown_r.content
    wrong_pw = await client.post(
        f"{API}/auth/login", json={"email": user.email, "password": "wrong password 1"}
    )
    no_user = await client.post(f"{API}/auth/login", json={"email": unknown, "password": "wrong password 1"})
    tried("enumeration", 2)
    assert _same(wrong_pw, no_user), (wrong_pw.text, no_user.text)
    # booking references: random, and someone else's answers exactly like one that does not exist
    other = await make_user(app)
    show = await make_showtime(app, rows=2, seats_per_row=4)
    refs = []
    for i in range(3):
        r = await client.post(
            f"{API}/bookings",
            json={"showtime_id": show.showtime_id, "seat_ids": [show.seat_ids[i]]},
            headers=auth_headers(app, user),
        )
        assert r.status_code == 201, r.text
        refs.append(r.json()["reference"])
    assert len(set(refs)) == 3
    assert all(len(ref) >= 8 for ref in refs)
    assert len({ref[:-1] for ref in refs}) == 3, f"references look sequential: {refs}"
    mine = await client.get(f"{API}/bookings/{refs[0]}", headers=auth_headers(app, other))
    made_up = await client.get(f"{API}/bookings/{refs[0][:-2]}ZZ", headers=auth_headers(app, other))
    tried("enumeration", 2)
    assert mine.status_code == made_up.status_code == 404
    assert _same(mine, made_up)


# --- brute force --------------------------------------------------------------------------------------


async def test_password_brute_force_is_rate_limited(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    statuses = []
    for i in range(12):
        r = await client.post(
            f"{API}/auth/login", json={"email": user.email, "password": f"guess number {i}"}
        )
        tried("brute_force")
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.headers["retry-after"].isdigit()
            assert r.json()["code"] == "rate_limited"
            break
    assert 429 in statuses, statuses
    assert statuses.index(429) <= app.state.settings.login_attempts_per_15min + 1, statuses
    # while limited, even the right password does not get through
    r = await client.post(f"{API}/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert r.status_code == 429


async def test_page_login_brute_force_is_rate_limited(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await make_user(app)
    statuses = []
    for i in range(12):
        r = await page_login(client, user.email, f"guess number {i}")
        tried("brute_force")
        statuses.append(r.status_code)
    assert 429 in statuses, statuses


async def test_totp_brute_force_is_rate_limited(app: FastAPI, client: httpx.AsyncClient) -> None:
    import pyotp

    user = await make_user(app)
    headers = auth_headers(app, user)
    setup = await client.post(f"{API}/me/mfa/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    totp = pyotp.TOTP(setup.json()["secret"])
    r = await client.post(f"{API}/me/mfa/totp/enable", json={"otp": totp.now()}, headers=headers)
    assert r.status_code == 200, r.text
    good = {totp.at(time.time() + k * 30) for k in (-1, 0, 1)}
    guesses = [f"{n:06d}" for n in range(100_000, 100_100) if f"{n:06d}" not in good]
    statuses = []
    for guess in guesses[:15]:
        r = await client.post(
            f"{API}/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD, "otp": guess}
        )
        tried("brute_force")
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses[0] == 401
    assert 429 in statuses, statuses


async def test_checkin_code_guessing_is_rate_limited(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await make_user(app, role=Role.owner)
    headers = auth_headers(app, owner)
    statuses = []
    for n in range(130):
        r = await client.post(
            f"{API}/checkin", json={"code": f"BT1.guess{n:06d}.AAAAAAAAAAA"}, headers=headers
        )
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    tried("brute_force", len(statuses))
    assert set(statuses[:-1]) <= {404, 422}, set(statuses)
    assert statuses[-1] == 429, f"no limit after {len(statuses)} forged codes"


# --- forged ticket codes ------------------------------------------------------------------------------


def _flip(text: str, index: int) -> str:
    ch = text[index]
    return text[:index] + ("A" if ch != "A" else "B") + text[index + 1 :]


async def test_forged_ticket_codes_never_admit(app: FastAPI, client: httpx.AsyncClient) -> None:
    from datetime import timedelta

    from boxoffice.booking.tickets import TicketClaims, sign_ticket, verify_ticket

    customer = await make_user(app)
    owner = await make_user(app, role=Role.owner)
    other_owner = await make_user(app, role=Role.owner)
    show = await make_showtime(
        app, owner_id=owner.id, rows=2, seats_per_row=4, starts_in=timedelta(minutes=30)
    )
    r = await client.post(
        f"{API}/bookings",
        json={"showtime_id": show.showtime_id, "seat_ids": show.seat_ids[:2]},
        headers=auth_headers(app, customer),
    )
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    r = await client.post(
        f"{API}/bookings/{ref}/pay",
        json={"method": "card", "card_number": CARD_OK},
        headers=auth_headers(app, customer),
    )
    assert r.status_code == 200, r.text
    codes = [t["code"] for t in r.json()["tickets"]]
    genuine = codes[0]
    claims = verify_ticket(app.state.settings.secret_key, genuine)
    assert claims is not None
    prefix, payload, signature = genuine.split(".")
    forged = [
        f"{prefix}.{payload}.{_flip(signature, 0)}",
        f"{prefix}.{payload}.{_flip(signature, len(signature) - 2)}",
        f"{prefix}.{_flip(payload, 2)}.{signature}",
        f"{prefix}.{codes[1].split('.')[1]}.{signature}",  # another ticket's payload, this signature
        sign_ticket("a-different-secret-key-" + "x" * 32, claims),
        sign_ticket(app.state.settings.secret_key + "x", claims),
        sign_ticket(
            app.state.settings.secret_key,
            TicketClaims(claims.ticket_id + 1000, claims.booking_id, claims.showtime_id, claims.seat_id),
        )[:-2]
        + "AA",
        f"{prefix}.{payload}.",
        f"{prefix}.{payload}",
        "x" * 119,
        genuine.lower(),
    ]
    staff = auth_headers(app, owner)
    for code in forged:
        r = await client.post(f"{API}/checkin", json={"code": code}, headers=staff)
        tried("forged_tickets")
        assert r.status_code in (404, 422), (code, r.status_code, r.text)
        if r.status_code == 404:
            assert r.json()["code"] == "invalid_ticket"
    # another cinema's owner cannot use a genuine code
    r = await client.post(f"{API}/checkin", json={"code": genuine}, headers=auth_headers(app, other_owner))
    tried("forged_tickets")
    assert r.status_code == 404
    # the genuine code admits once
    r = await client.post(f"{API}/checkin", json={"code": genuine}, headers=staff)
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/checkin", json={"code": genuine}, headers=staff)
    tried("forged_tickets")
    assert r.status_code == 409
    assert r.json()["code"] == "already_admitted"
