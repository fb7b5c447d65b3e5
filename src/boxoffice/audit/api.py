"""Routes (filled in by the domain)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
