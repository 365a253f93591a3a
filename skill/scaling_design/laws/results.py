"""Small immutable result types shared by the numerics: Interval, Diagnostic, LawInputError."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Interval", "Diagnostic", "LawInputError"]


class LawInputError(ValueError):
    """Unusable input: the message names the field, the value and what is accepted."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if not message.startswith(field) else message)
        self.field = field


@dataclass(frozen=True)
class Interval:
    """A two-sided interval at a confidence level (one type for every estimate)."""

    low: float
    high: float
    level: float = 0.95

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def as_dict(self) -> dict[str, float]:
        return {"low": float(self.low), "high": float(self.high), "level": float(self.level)}


@dataclass(frozen=True)
class Diagnostic:
    """A non-fatal finding with a stable code (e.g. parameter_at_bound)."""

    code: str
    message: str
    severity: str = "warning"  # info | warning | error
    param: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "param": self.param}
