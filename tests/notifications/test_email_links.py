"""Every link in every email points to a page the app serves (a link to a 404 is a dead end for a
customer who may be reading it because someone else changed their password)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jinja2 import meta

from boxoffice.accounts import emails
from boxoffice.accounts.models import User
from boxoffice.db import transaction
from boxoffice.notifications.service import _env, render_email
from tests.factories.accounts import make_user

TEMPLATE_DIR = Path(emails.__file__).parent.parent / "notifications" / "templates"
TEMPLATES = sorted(p.stem for p in TEMPLATE_DIR.glob("*.txt"))
_URL = re.compile(r"""https?://[^\s"'<>]+""")
_HREF = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")


async def _real_contexts(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> dict[str, Mapping[str, Any]]:
    """The contexts the account emails are really queued with (links included), by template."""
    captured: dict[str, Mapping[str, Any]] = {}

    async def capture(session: object, *, template: str, context: Mapping[str, Any], **_: object) -> None:
        captured[template] = context

    monkeypatch.setattr(emails, "queue_email", capture)
    settings = app.state.settings
    created = await make_user(app)
    async with transaction(app.state.sessionmaker) as session:
        user = await session.get(User, created.id)
        assert user is not None
        await emails.send_verification(session, settings=settings, user=user, email=user.email)
        await emails.send_reset(session, settings=settings, user=user)
        await emails.send_password_changed(session, settings=settings, user=user, how="changed")
        await emails.send_email_change_notice(session, user=user, new_email="new@example.com")
    return captured


def _sample_context(template: str) -> dict[str, str]:
    """Plain strings for a template's variables; refused for one that takes a link (it needs its real
    context above, or this test would only check a made-up link)."""
    env = _env()
    names: set[str] = set()
    for ext in ("txt", "html"):
        source = env.loader.get_source(env, f"{template}.{ext}")[0]  # type: ignore[union-attr]
        names |= meta.find_undeclared_variables(env.parse(source))
    linked = sorted(n for n in names if "link" in n or "url" in n)
    assert not linked, f"{template} takes {linked}: add its real context to _real_contexts"
    return {name: f"sample {name}" for name in names}


def _links(text: str, html: str, base_url: str) -> set[str]:
    found = set(_URL.findall(text)) | set(_URL.findall(html)) | set(_HREF.findall(html))
    local = {link for link in found if link.startswith(base_url) or link.startswith("/")}
    assert not (found - local - {link for link in found if link.startswith("mailto:")}), found
    return {link.removeprefix(base_url) or "/" for link in local}


async def test_every_email_link_points_to_a_served_page(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "password_changed" in TEMPLATES
    base_url = app.state.settings.base_url.rstrip("/")
    real = await _real_contexts(app, monkeypatch)
    checked: dict[str, set[str]] = {}
    for template in TEMPLATES:
        context = real.get(template) or _sample_context(template)
        text, html = render_email(template, context)
        checked[template] = _links(text, html, base_url)
        for path in checked[template]:
            response = await client.get(path)
            assert response.status_code not in (404, 405), (template, path, response.status_code)
    assert checked["password_changed"] == {"/password/forgot"}
    assert all(checked[t] for t in ("verify_email", "reset_password")), checked
