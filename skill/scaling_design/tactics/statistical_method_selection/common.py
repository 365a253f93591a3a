"""The decision table and the helpers both tasks use."""
from __future__ import annotations

from typing import Any

from ... import knowledge
from .models import Input, Method


def _table() -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in knowledge.load("statistics")["tests"]}


def _method(row_id: str, reason: str | None = None) -> Method:
    row = _table()[row_id]
    return Method(id=row_id, name=row["test"], call=row["call"], reason=reason or row["reason"], source=row["source"])


def _parametric(inp: Input, path: list[str]) -> bool:
    """Whether a normal-theory test is justified, and why."""
    norm = knowledge.load("statistics")["normality"]
    n = inp.runs_per_group
    if inp.normality == "yes":
        path.append("normality: stated roughly normal -> normal-theory test")
        return True
    if inp.normality == "no":
        path.append("normality: stated not normal -> rank-based test")
        return False
    if n is not None and n >= norm["large_sample"]:
        path.append(f"normality unknown but {n} >= {norm['large_sample']} runs per group -> the mean is close to normal (central limit theorem)")
        return True
    path.append("normality unknown with few or unstated runs -> rank-based test (a normality check on few runs has little power)")
    return False
