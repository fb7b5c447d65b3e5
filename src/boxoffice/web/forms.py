"""Form helpers for pages: validate a form with the domain's own Pydantic schema, explain errors plainly."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

_FIELD_NAMES = {
    "email": "Email",
    "password": "Password",
    "new_password": "New password",
    "current_password": "Current password",
    "full_name": "Name",
    "otp": "Code",
    "token": "Link",
}


class FormError(Exception):
    """A form that does not validate; `message` is for the person who filled it in."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def explain(exc: ValidationError) -> str:
    """One readable sentence per invalid field."""
    parts = []
    for error in exc.errors()[:4]:
        loc = [str(p) for p in error.get("loc", ())]
        name = _FIELD_NAMES.get(loc[-1], loc[-1].replace("_", " ").capitalize()) if loc else "Form"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(parts) or "Please check the form."


def parse(model: type[M], **values: Any) -> M:
    """`model` validated from form values (empty fields are left out, so defaults apply), or FormError."""
    cleaned = {k: v for k, v in values.items() if v != "" and v is not None}
    try:
        return model.model_validate(cleaned)
    except ValidationError as exc:
        raise FormError(explain(exc)) from exc
