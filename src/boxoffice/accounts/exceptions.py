"""Account errors with stable codes. Some keep the transaction's changes (the audit of a failure)."""

from __future__ import annotations

from boxoffice.errors import BadRequest, Unauthorized


class KeptUnauthorized(Unauthorized):
    """A 401 whose transaction still commits: the failed attempt is audited, a reused family revoked."""

    commit_changes = True


class InvalidCredentials(KeptUnauthorized):
    """Wrong email or password (never says which)."""

    code = "invalid_credentials"
    title = "Invalid credentials"


class MfaRequired(Unauthorized):
    """The password was right; a TOTP or recovery code is needed too."""

    code = "mfa_required"
    title = "Two-factor code required"


class InvalidOtp(KeptUnauthorized):
    """The TOTP or recovery code is wrong or already used."""

    code = "invalid_otp"
    title = "Invalid two-factor code"


class InvalidRefreshToken(KeptUnauthorized):
    """Unknown, expired, revoked or reused refresh token."""

    code = "invalid_token"
    title = "Invalid refresh token"


class InvalidEmailToken(BadRequest):
    """A verification or reset token that is expired, used or forged."""

    code = "invalid_token"
    title = "Invalid or expired link"
