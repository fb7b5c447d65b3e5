"""Input guards shared by the catalogue, venues and showtimes schemas.

PostgreSQL refuses NUL characters in text and integers past 32 bits; left unchecked, such input would
reach the database and fail there (a 500). These limits turn it into a 422 at the edge instead.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

MAX_ID = 2_147_483_647  # INTEGER primary keys
MAX_AMOUNT = 100_000_000  # one million in major units: far above any ticket
NO_NUL = r"^[^\x00]*$"  # for query strings


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class CleanInput(BaseModel):
    """A request body: unknown fields refused, NUL characters refused anywhere in it."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data
