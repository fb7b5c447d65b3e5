"""Catalogue tables: genres, people, movies, credits and the movie-genre link."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Column, Enum, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boxoffice.db import Base
from boxoffice.kit.clock import utc_now

movie_genres = Table(
    "movie_genres",
    Base.metadata,
    Column("movie_id", ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True),
    Column("genre_id", ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True),
)


class CreditRole(enum.StrEnum):
    """What a person did on a movie."""

    actor = "actor"
    director = "director"
    producer = "producer"


class Genre(Base):
    """A movie category (Drama, Animation, ...)."""

    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)


class Person(Base):
    """An actor, director or producer."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200), index=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    birth_date: Mapped[date | None] = mapped_column(default=None)
    photo_url: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Movie(Base):
    """A film that cinemas can schedule."""

    __tablename__ = "movies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    title_search: Mapped[str] = mapped_column(String(300))  # lower-cased, accents stripped
    synopsis: Mapped[str] = mapped_column(Text, default="")
    runtime_minutes: Mapped[int] = mapped_column(Integer)
    release_date: Mapped[date | None] = mapped_column(default=None)
    certificate: Mapped[str] = mapped_column(String(16), default="")
    original_language: Mapped[str] = mapped_column(String(16), default="en")
    production_company: Mapped[str] = mapped_column(String(200), default="")
    poster_url: Mapped[str | None] = mapped_column(String(500), default=None)
    trailer_url: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    genres: Mapped[list[Genre]] = relationship(secondary=movie_genres, lazy="raise", order_by=Genre.name)
    credits: Mapped[list[Credit]] = relationship(
        back_populates="movie", lazy="raise", cascade="all, delete-orphan", order_by="Credit.billing_order"
    )

    __table_args__ = (
        Index("ix_movies_title_search", "title_search"),
        Index("ix_movies_release_date", "release_date"),
    )


class Credit(Base):
    """A person's part in a movie: role, character and billing order."""

    __tablename__ = "credits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    role: Mapped[CreditRole] = mapped_column(Enum(CreditRole, native_enum=False, length=16))
    character: Mapped[str | None] = mapped_column(String(200), default=None)
    billing_order: Mapped[int] = mapped_column(Integer, default=0)

    movie: Mapped[Movie] = relationship(back_populates="credits", lazy="raise")
    person: Mapped[Person] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("movie_id", "person_id", "role", "character"),
        Index("ix_credits_person_id", "person_id"),
    )
