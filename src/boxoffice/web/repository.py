"""The web layer's reads of other domains' records (pages otherwise call the domains' services)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts import repository as accounts_repo
from boxoffice.kit.clock import utc_now


async def page_session_is_live(session: AsyncSession, *, user_id: int, family: str) -> bool:
    """True when the account is active and its sign-in session (refresh family) was not revoked."""
    user = await accounts_repo.get_user(session, user_id)
    if user is None or not user.is_active or user.deleted_at is not None or not family:
        return False
    return await accounts_repo.family_is_live(session, user_id=user_id, family_id=family, now=utc_now())
