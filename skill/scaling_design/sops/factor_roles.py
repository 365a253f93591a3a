"""The upstream factor-identification fields that sit beside the scaling rules: the restated
hypothesis, each response's type and direction, each factor's type, the seed / hardware /
software controls every study holds, and the check that no variable has two roles.
"""
from __future__ import annotations

from typing import Any

__all__ = ["restate_hypothesis", "response_traits", "STANDARD_CONTROLS", "add_standard_controls", "resolve_roles"]

_HIGHER = ("throughput", "accuracy", "pass", "score")
_RECORDED = ("training_compute", "tokens", "gpu_hours", "flops")

STANDARD_CONTROLS = [
    ("seed", "hold_fixed", "a fixed list of seeds, the same list at every scale; replicates differ only in the seed",
     "seed-to-seed spread is the noise the fit and tests are judged against (Porian et al. 2024)"),
    ("hardware", "hold_fixed", "one accelerator type, count and interconnect for every run, recorded",
     "GPU-hours, throughput and numerics change with hardware"),
    ("software", "hold_fixed", "framework, kernel library, compiler and driver versions pinned and recorded",
     "kernels and versions change speed and, through numerics, loss"),
]


def response_traits(name: str) -> tuple[str, str]:
    """(type, direction) of a response: continuous, and which way is better (or 'recorded' for cost)."""
    key = name.lower()
    if any(k in key for k in _RECORDED):
        return "continuous", "recorded"
    return "continuous", "higher_is_better" if any(k in key for k in _HIGHER) else "lower_is_better"


def restate_hypothesis(question: str, scaling_type: str, axes: list[str], responses: list[str]) -> str:
    """The question as a testable statement with its null."""
    over = " and ".join(axes) or "the scaling axis"
    what = responses[0] if responses else "the response"
    if scaling_type == "inference":
        return (f"H1: {what} changes smoothly and predictably with {over} on fixed hardware; H0: no systematic change "
                f"beyond replicate noise. (Question: {question.strip()})")
    return (f"H1: {what} falls as a power law (plus a floor) in {over} over the planned range and extrapolates to the "
            f"target; H0: no such law (the held-out larger point misses the prediction's interval). "
            f"(Question: {question.strip()})")


def add_standard_controls(controls: list[Any], make: Any) -> list[Any]:
    names = {c.name for c in controls}
    return controls + [make(name=n, treatment=t, value_or_rule=v, why=w, source="experiment-design practice; " + w)
                       for n, t, v, w in STANDARD_CONTROLS if n not in names]


def resolve_roles(axes: list[Any], controls: list[Any], warnings: list[Any], make_finding: Any) -> list[Any]:
    """Drop every control that is also a factor: a variable has one role."""
    factor_names = {a.name for a in axes}
    clashes = [c.name for c in controls if c.name in factor_names]
    for name in clashes:
        warnings.append(make_finding(code="variable_in_two_roles", severity="info",
                                     message=f"{name!r} is a factor here, so it is not also held fixed or scaled as a "
                                             "control; the other settings that depend on it follow their rules"))
    return [c for c in controls if c.name not in factor_names]
