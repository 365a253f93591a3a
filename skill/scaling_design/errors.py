"""The one error type the steps raise for unusable input.

A step raises InputError(field, message); the server turns it into an isError result
and the CLI into a one-line message, both naming the field. Pydantic validation errors
are converted the same way (see format_validation_error)."""
from __future__ import annotations

from pydantic import ValidationError

from .laws.results import LawInputError

__all__ = ["InputError", "LawInputError", "format_validation_error", "describe_error", "out_of_order"]


class InputError(ValueError):
    """Bad input to a step: names the field, the value and what would be accepted."""

    def __init__(self, field: str, message: str):
        super().__init__(message if message.startswith(field) else f"{field}: {message}")
        self.field = field


def out_of_order(model, low: str, high: str, strict: bool = True, scope: str = "") -> str:
    """The message for two bounds in the wrong order, led by the one the caller sent: an agent that sent only
    `high` reads that `high` is the field to correct (the other is its default)."""
    a, b = getattr(model, low), getattr(model, high)
    below, above, not_below, not_above = ("<", ">", ">=", "<=") if strict else ("<=", ">=", ">", "<")
    if high in model.model_fields_set and low not in model.model_fields_set:
        return f"`{high}` must be {above} `{low}`{scope} (default {a:g}); got {b:g} {not_above} {a:g}"
    return f"`{low}` must be {below} `{high}`{scope}; got {a:g} {not_below} {b:g}"


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: `field`: what is wrong; got VALUE. A check across fields
    (a model validator) already names its fields, so it is shown as its own message."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if err.get("type") == "value_error":
            msg = msg.removeprefix("Value error, ")
        got = err.get("input")
        if not loc or isinstance(got, dict) or "; got " in msg:  # the message already shows the value
            parts.append(f"{loc}: {msg}" if loc else msg)
            continue
        shown = repr(got)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        parts.append(f"{loc}: {msg}; got {shown}")
    return "; ".join(parts)


def describe_error(exc: BaseException) -> str:
    """The message an agent or a person should see for an input error."""
    if isinstance(exc, ValidationError):
        return format_validation_error(exc)
    return str(exc)
