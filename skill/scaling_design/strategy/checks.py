"""Consistency checks of the whole plan and its verdict."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..sops import design_matrix_construction as dmc
from ..sops import factor_identification as fi
from ..sops import level_specification as ls
from ..sops import sample_size_estimation as sse
from .inputs import _dump, _range
from .models import AXIS_COLUMN, Check, Input, LEVEL_RTOL


# ---------------------------------------------------------------- checks

def _close(a: float, b: float) -> bool:
    return abs(a - b) <= LEVEL_RTOL * max(abs(a), abs(b))


def _covers(values: set[float], levels: list[float]) -> tuple[list[float], list[float]]:
    """Levels missing from the values, and values that are not levels."""
    missing = [lv for lv in levels if not any(_close(lv, v) for v in values)]
    extra = [v for v in values if not any(_close(lv, v) for lv in levels)]
    return missing, extra


def _check_factors(fi_out: fi.Output, dm_out: dmc.Output, scaling_type: str,
                   held: dict[str, float] | None = None) -> Check:
    """Every scaling axis a varied column, save those the one-axis sweep holds by design (warned axes_held_fixed)."""
    columns = set(dm_out.columns)
    absent, kept = [], []
    for axis in fi_out.independent_variables:
        if scaling_type == "compute_optimal" and axis.kind == "parameters":
            continue  # isoFLOP sizes are set per budget: N is a column, not a factor with levels
        if held and axis.name in held:
            kept.append(f"{axis.name} held at {held[axis.name]:g}")
            continue
        column = AXIS_COLUMN.get(axis.name, axis.name)
        varied = column in columns and len({r.get(column) for r in dm_out.runs}) > 1
        if not varied:
            absent.append(f"{axis.name} (column {column})")
    names = ", ".join(a.name for a in fi_out.independent_variables if not (held and a.name in held))
    by_design = f" ({'; '.join(kept)} by design: see the axes_held_fixed warning)" if kept else ""
    return Check(name="factors_in_matrix", passed=not absent, severity="major",
                 detail=f"every swept scaling axis ({names}) is a varied column of the run table{by_design}"
                 if not absent else
                 f"axes not varied in the run table: {', '.join(absent)}; rebuild design_matrix_construction with "
                 "them as factors")


def _check_levels(ls_out: ls.Output, dm_out: dmc.Output, scaling_type: str) -> Check:
    problems, compared = [], []
    for factor in ls_out.factors:
        column = AXIS_COLUMN.get(factor.name, factor.name)
        if scaling_type == "compute_optimal" and factor.kind == "parameters":
            continue
        values = {float(r[column]) for r in dm_out.runs if column in r}
        if not values:
            continue
        missing, extra = _covers(values, list(factor.levels))
        compared.append(factor.name)
        if missing:
            problems.append(f"{factor.name}: levels {[f'{m:.3g}' for m in missing]} are not in the run table")
        if extra:
            problems.append(f"{factor.name}: values {[f'{e:.3g}' for e in extra]} are not specified levels")
    return Check(name="levels_as_specified", passed=not problems, severity="minor",
                 detail="; ".join(problems) if problems else
                 f"the run table uses exactly the specified levels of {', '.join(compared) or 'every factor'}")


def _scale_points(final_runs: list[dict[str, Any]], scaling_type: str) -> int:
    """Distinct settings of the main axis; for isoFLOP designs, the fewest model sizes of any budget."""
    if scaling_type == "compute_optimal":
        sizes: dict[float, set[float]] = {}
        for r in final_runs:
            sizes.setdefault(float(r["C"]), set()).add(float(r["N"]))
        return min((len(v) for v in sizes.values()), default=0)
    column = {"model": "N", "data": "D", "inference": "batch_size"}[scaling_type]
    return len({float(r[column]) for r in final_runs if column in r})


def _check_final_levels(final_runs: list[dict[str, Any]], scaling_type: str, gate_points: tuple[float, float]) -> Check:
    points = _scale_points(final_runs, scaling_type)
    what = "model sizes in the thinnest isoFLOP budget" if scaling_type == "compute_optimal" else \
        "distinct scale points"
    # A power law needs at least 4 points; an isoFLOP parabola needs at least 3 (5 or more to be safe).
    floor = 3 if scaling_type == "compute_optimal" else 4
    low, high = int(gate_points[0]), int(gate_points[1])
    if points < floor:
        return Check(name="scale_points", passed=False, severity="major",
                     detail=f"{points} {what}: the fit needs at least {floor}; raise the budget or narrow the range")
    return Check(name="scale_points", passed=points >= low, severity="minor",
                 detail=f"{points} {what}; the Budget Gate asks {low}-{high}" +
                        ("" if points >= low else ": add scale points or raise the budget"))


def _replicate_counts(final_runs: list[dict[str, Any]], columns: tuple[str, ...]) -> list[int]:
    counts: dict[tuple, int] = {}
    for r in final_runs:
        key = tuple(r.get(c) for c in columns)
        counts[key] = counts.get(key, 0) + 1
    return list(counts.values())


def _above_gate(needed: int, gate: dict[str, Any], ss_out: sse.Output) -> str:
    """Why the plan asks more replicates than the Budget Gate's upper count, in the Monte Carlo's own figures."""
    top = int(_range(gate["replicates"])[1])
    fp = ss_out.fit_precision
    at_top = next((c for c in fp.curve if c.replicates == top), None) if fp else None
    if needed <= top or at_top is None:
        return ""
    return (f"; more than the Budget Gate's {top}: at {top} replicate(s) the {fp.percentile:.0%} relative error of "
            f"{fp.quantity} is {at_top.error_percentile:.1%} ({at_top.n_sims} simulations) against the "
            f"{fp.target_relative_error:.1%} asked")


def _check_replicates(final_runs, columns, needed: int, target_met: bool, ss_out: sse.Output,
                      gate: dict[str, Any]) -> Check:
    counts = _replicate_counts(final_runs, columns)
    least = min(counts) if counts else 0
    if not target_met:
        fp = ss_out.fit_precision
        best = min((c.error_percentile for c in fp.curve), default=float("nan")) if fp else float("nan")
        return Check(name="replicates_enough", passed=False, severity="minor",
                     detail=f"no replicate count up to {needed} reaches the precision asked (best 90th-percentile "
                            f"relative error {best:.3g}); widen the range, add scale points or accept a looser "
                            "target_relative_error")
    return Check(name="replicates_enough", passed=least >= needed, severity="minor",
                 detail=f"every setting has at least {least} replicate(s); {needed} needed "
                        "(sample_size_estimation, never below the Budget Gate)" + _above_gate(needed, gate, ss_out) +
                        ("" if least >= needed else ": the budget cut replicates; raise it or drop scale points"))


def _check_budget(total_flops: float | None, total_hours: float | None, fi_out: fi.Output,
                  inp: Input) -> Check:
    if fi_out.budget_flops is None:
        return Check(name="budget_respected", passed=True, severity="info",
                     detail="no budget given: the plan's cost is reported, not checked")
    if total_flops is not None:
        ok = total_flops <= fi_out.budget_flops * (1 + 1e-9)
        return Check(name="budget_respected", passed=ok, severity="major",
                     detail=f"the plan costs {total_flops:.3g} FLOPs of {fi_out.budget_flops:.3g} available "
                            f"({total_flops / fi_out.budget_flops:.1%})" + ("" if ok else ": over budget"))
    if inp.budget_gpu_hours is not None and total_hours is not None:
        ok = total_hours <= inp.budget_gpu_hours * (1 + 1e-9)
        return Check(name="budget_respected", passed=ok, severity="major",
                     detail=f"the plan costs {total_hours:.3g} GPU-hours of {inp.budget_gpu_hours:.3g} available"
                            + ("" if ok else ": over budget"))
    return Check(name="budget_respected", passed=True, severity="info", detail="the runs carry no cost to check")


def _check_gate_runs(n_runs: int, gate: dict[str, Any]) -> Check:
    low, high = _range(gate["min_runs"])
    return Check(name="budget_gate_runs", passed=n_runs >= low, severity="minor",
                 detail=f"{n_runs} runs; the Budget Gate asks at least {int(low)}-{int(high)} for this scaling type")


def _check_step_findings(steps: dict[str, BaseModel | None]) -> list[Check]:
    checks = []
    errors = [f"{name}: {w['message']}" for name, out in steps.items() if out is not None
              for w in _dump(out).get("warnings", []) if w.get("severity") == "error"]
    checks.append(Check(name="no_step_errors", passed=not errors, severity="major",
                        detail="; ".join(errors) if errors else "no step reported an error"))
    # A Monte Carlo step that could not tell its percentile from the target leaves the replicate answer open.
    undecided = [f"{name}: {w['message']}" for name, out in steps.items() if out is not None
                 for w in _dump(out).get("warnings", []) if str(w.get("code", "")).endswith("undecided")]
    if undecided:
        checks.append(Check(name="sizing_decided", passed=False, severity="minor",
                            detail="; ".join(undecided) + ("" if "raise n_sims" in undecided[-1] else
                                                           ": raise n_sims so the sample size is decided")))
    ls_out = steps.get("level_specification")
    if ls_out is not None:
        # The budget is checked on the final plan (budget_respected), after budget_constrained_design chose runs.
        failed = [f"{c.check} ({c.factor or 'plan'}): {c.detail}" for c in ls_out.feasibility_check
                  if c.verdict == "fail" and c.check != "budget"]
        checks.append(Check(name="levels_feasible", passed=not failed, severity="minor",
                            detail="; ".join(failed) if failed else "level_specification's feasibility checks pass "
                                                                     "(or only warn)"))
    return checks


def _verdict(checks: list[Check]) -> tuple[str, list[str]]:
    major = [c for c in checks if not c.passed and c.severity == "major"]
    minor = [c for c in checks if not c.passed and c.severity == "minor"]
    reasons = [f"{c.name}: {c.detail}" for c in major + minor]
    if major:
        return "major-issues", reasons
    if minor:
        return "needs-revision", reasons
    return "ready", ["every consistency check passes: factors, levels, replicates, budget and the Budget Gate"]
