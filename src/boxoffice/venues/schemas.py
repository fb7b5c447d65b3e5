"""Request and response bodies of cinemas and screens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from boxoffice.catalog.inputs import MAX_ID, CleanInput
from boxoffice.venues.models import SeatType

FORMATS = ("2D", "3D", "IMAX", "IMAX 3D", "Dolby Cinema", "Dolby Atmos", "4DX", "ScreenX", "70mm")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LayoutRow = Annotated[str, StringConstraints(max_length=200)]
Format = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class CinemaCreate(CleanInput):
    """A new cinema. Admins may name its owner; an owner always owns what it creates."""

    name: Name
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="IANA timezone, e.g. Europe/Lisbon"
    )
    cleaning_minutes: int = Field(default=15, ge=0, le=240)
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="admins only")


class CinemaUpdate(CleanInput):
    """Changes to a cinema."""

    name: Name | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = None
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = (
        None
    )
    cleaning_minutes: int | None = Field(default=None, ge=0, le=240)
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="admins only")


class CinemaRead(BaseModel):
    """A cinema."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    address: str
    city: str
    timezone: str
    cleaning_minutes: int
    owner_id: int | None
    screen_count: int = 0
    created_at: datetime


class SeatIn(CleanInput):
    """One seat of an explicit seat list."""

    row: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4)]
    number: int = Field(ge=1, le=999)
    x: int = Field(ge=0, le=199)
    y: int = Field(ge=0, le=199)
    type: SeatType = SeatType.standard


class ScreenCreate(CleanInput):
    """A new screen: its formats and either `layout` (rows of text) or `seats` (an explicit list)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    formats: list[Format] = Field(default_factory=lambda: ["2D"], min_length=1, max_length=len(FORMATS))
    layout: list[LayoutRow] | None = Field(
        default=None,
        max_length=60,
        description="rows of text, front row first: A standard, P premium, R recliner, "
        "W wheelchair space, C companion seat, _ gap",
        examples=[["__AAAAAA__", "AAAAAAAAAA", "PPPPPPPPPP", "WC_AAAA_CW"]],
    )
    seats: list[SeatIn] | None = Field(default=None, max_length=1500)

    @model_validator(mode="after")
    def _one_layout(self) -> ScreenCreate:
        if (self.layout is None) == (self.seats is None):
            raise ValueError("give exactly one of `layout` (rows of text) or `seats` (a seat list)")
        return self


class ScreenUpdate(CleanInput):
    """Changes to a screen; a new layout is allowed only while the screen has no showtimes."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    formats: list[Format] | None = Field(default=None, min_length=1, max_length=len(FORMATS))
    layout: list[LayoutRow] | None = Field(default=None, max_length=60)
    seats: list[SeatIn] | None = Field(default=None, max_length=1500)

    @model_validator(mode="after")
    def _at_most_one_layout(self) -> ScreenUpdate:
        if self.layout is not None and self.seats is not None:
            raise ValueError("give at most one of `layout` or `seats`")
        return self


class SeatRead(BaseModel):
    """A physical seat."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    row: str
    number: int
    x: int
    y: int
    type: SeatType


class ScreenRead(BaseModel):
    """A screen, with its layout as rows of text."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    cinema_id: int
    name: str
    formats: list[str]
    layout: list[str]
    seat_count: int
    created_at: datetime


class ScreenDetail(ScreenRead):
    """A screen with every seat."""

    seats: list[SeatRead]
