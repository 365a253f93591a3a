"""Levels of general studies: ordinal and categorical factors (labels) and the screening rule.

A label factor's levels are its labels, run as they are (ordinal in the given order); nothing is
spaced, rounded or extrapolated. In a general study a continuous factor gets 2 levels when the
design screens for effects (low and high: the rule of two-level screening designs) and 3 by
default otherwise, so curvature can show; the scaling checks (decades, four or more points, a
held-out point) do not apply.
"""
from __future__ import annotations

from ... import knowledge
from .models import Check, FactorLevels, FactorRange, Input

__all__ = ["label_factor", "general_num_levels", "general_checks", "screening_notes"]


def _table() -> dict:
    return knowledge.load("levels")["general"]


def general_num_levels(inp: Input) -> tuple[int, str]:
    """(levels per continuous factor, source) for a general study."""
    row = _table()
    k = row["screening_levels"] if inp.screening else row["comparison_levels"]
    why = "screening: low and high" if inp.screening else "a comparison: a third level shows curvature"
    return int(k), f"{why} ({row['source']})"


def screening_notes(k: int, factor_type: str, screening: bool) -> list[str]:
    if k == 2:
        return ["2 levels: enough to screen for an effect (the rule for screening designs), not to fit a curve; "
                "a scaling law needs 4 or more"]
    if screening and factor_type == "categorical":
        return [f"{k} labels in a screening study: screening designs run 2 levels per factor; keep all {k} only if "
                "each is a condition of interest, or screen the two most different first"]
    if screening:
        return [f"{k} levels in a screening study: screening designs run 2 levels per factor (low and high)"]
    return []


def label_factor(f: FactorRange, inp: Input) -> FactorLevels:
    labels = list(f.labels)
    k = len(labels)
    order = "in the given order" if f.factor_type == "ordinal" else "unordered"
    return FactorLevels(
        name=f.name, kind=f.factor_type, factor_type=f.factor_type, unit=f.unit, num_levels=k, levels=labels,
        target_levels=labels, spacing="labels", ratio=None, decades_covered=None,
        justification=f"{k} {f.factor_type} levels ({order}): each label is a condition and is run as given",
        source=_table()["labels_source"], shapes=[], steps=[], held_out_level=None, held_out_shape=None,
        notes=screening_notes(k, f.factor_type, inp.screening))


def general_checks(fl: FactorLevels, inp: Input, checks: list[Check]) -> None:
    """Per-factor checks of a general study: the screening rule, or enough levels to compare."""
    source = _table()["source"]
    if inp.screening:
        ok = fl.num_levels == 2
        detail = (f"{fl.num_levels} levels: the two-level screening rule holds" if ok else
                  f"{fl.num_levels} levels in a screening study: screening designs use 2 per factor (a 2^k or "
                  "fractional factorial); keep more only for a factor whose every level matters")
        checks.append(Check(check="screening_levels", factor=fl.name, verdict="pass" if ok else "warn",
                            detail=detail, source=source))
        return
    distinct = len(set(fl.levels))
    checks.append(Check(check="levels_per_factor", factor=fl.name, verdict="pass" if distinct >= 2 else "fail",
                        detail=f"{distinct} distinct levels" + ("" if distinct >= 3 or fl.factor_type != "continuous"
                                                               else ": 2 show an effect, not its shape"),
                        source=source))
