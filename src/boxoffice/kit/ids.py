"""Identifiers: unguessable references and tokens."""

from __future__ import annotations

import hashlib
import secrets

# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L, U).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(length: int = 10) -> str:
    """A short booking reference: 10 symbols of a 30-letter alphabet, about 49 random bits."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


def new_token() -> str:
    """An opaque URL-safe secret (256 bits) for links and refresh tokens."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of an opaque token: SHA-256 hex (tokens are random, no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
