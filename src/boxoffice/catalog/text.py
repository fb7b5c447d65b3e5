"""Search forms of names and titles: case- and accent-insensitive, LIKE-safe."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKD, combining marks stripped, case-folded, spaces collapsed: 'Amélie' -> 'amelie'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def like_pattern(query: str) -> str:
    """A LIKE pattern matching `query` anywhere; `%`, `_` and `\\` escaped (use escape='\\')."""
    escaped = normalise(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def slugify(text: str) -> str:
    """A URL slug: 'Science Fiction' -> 'science-fiction'."""
    return re.sub(r"[^a-z0-9]+", "-", normalise(text)).strip("-")
