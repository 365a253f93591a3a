"""The text an agent reads when a call fails, and the checks on what a step returns."""
from __future__ import annotations

import math
from typing import Any

import mcp.types as types
from pydantic import ValidationError

from ..errors import format_validation_error
from ..tools import ToolSpec

__all__ = ["tool_error_text", "fault_text", "non_finite_paths", "error_result"]


def _field_hints(spec: ToolSpec, exc: ValidationError) -> list[str]:
    """For each offending top-level field: what the schema accepts."""
    fields = spec.input_model.model_fields
    hints: list[str] = []
    for err in exc.errors():
        loc = err.get("loc", ())
        top = str(loc[0]) if loc else ""
        if err.get("type") == "extra_forbidden":
            hints.append(f"remove `{top}`; accepted fields: {', '.join(fields)}")
        elif top in fields and fields[top].description:
            hint = f"`{top}`: {fields[top].description.rstrip('. ')}"
            if hint not in hints:
                hints.append(hint)
    return hints


def fault_text(name: str) -> str:
    """An unexpected failure: no exception name or message (they may hold internals), only what to do."""
    return (f"{name} failed unexpectedly. This is a fault in the tool, not in the arguments (the server logged "
            "it); the server is still running: try other values or another tool.")


def tool_error_text(spec: ToolSpec | None, name: str, exc: BaseException) -> str:
    """The text an agent reads when a call fails: the field, the value, the fix."""
    if isinstance(exc, ValidationError) and spec is not None:
        hints = _field_hints(spec, exc)
        text = f"Invalid arguments for {name}: {format_validation_error(exc)}."
        if hints:
            text += " Fix: " + " | ".join(hints) + "."
        return text + " Then call the tool again."
    if isinstance(exc, ValueError) and not isinstance(exc, ValidationError):
        # InputError and LawInputError are ValueErrors naming the field
        return f"Invalid input for {name}: {exc}. Correct that field and call the tool again."
    return fault_text(name)


def non_finite_paths(value: Any, path: str = "") -> list[str]:
    """Where a dumped output holds NaN or an infinity (dotted paths)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path or "output"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in non_finite_paths(v, f"{path}[{i}]")]
    return []


def error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
