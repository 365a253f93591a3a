"""The flow: every step in order, then the checks and the assembled plan."""
from __future__ import annotations

import time
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from .. import knowledge
from ..errors import InputError, format_validation_error
from ..sops import design_matrix_construction as dmc
from ..sops import factor_identification as fi
from ..sops import metric_specification as ms
from ..sops import sample_size_estimation as sse
from ..tactics import budget_constrained_design as bcd
from ..step_order import STEP_ORDER
from .assemble import assemble, final_table, held_out_point
from .inputs import (
    _budget_input, _default, _design_input, _dump, _fixed_parameters, _fixed_tokens, _identify, _replicate_floor,
    _replicates_needed, _result_columns, _sample_size_input, _specify_levels, _target_compute, _target_scale,
    held_axes, main_factor)
from .models import COMPUTE, PARAMS, TOKENS, Input, Output
from .run_table import VALIDATION_SHARE, validation_runs


# ---------------------------------------------------------------- the flow

def _step_warnings(steps: dict[str, BaseModel | None]) -> list[dict[str, Any]]:
    return [{"step": name, **w} for name, out in steps.items() if out is not None
            for w in _dump(out).get("warnings", [])]


def _scaled(progress: Callable | None, step: int, total: int, label: str) -> Callable | None:
    """A step's own progress mapped into its slot of the strategy's progress."""
    if progress is None:
        return None

    def report(done: float, of: float, message: str = "") -> None:
        frac = (done / of) if of else 0.0
        progress(step + min(max(frac, 0.0), 1.0), total, f"{label}: {message}" if message else label)

    return report


def _time_left(deadline: float) -> float:
    """Seconds left of the strategy's bound; a step past it still gets a moment to report what it did."""
    return max(deadline - time.perf_counter(), 0.05)


# Which strategy field drives each step field the strategy fills in: a step that refuses a derived value is
# reported by the field the caller sent, with the step's own reason.
DRIVERS = {"target_N": "target_parameters", "target_D": "fixed_tokens", "target_compute": "target_compute",
           "n_min": "scale_min", "fixed": "fixed_tokens", "fixed_parameters": "fixed_parameters"}


MAIN_AXIS_RANGE = {"model": ("parameters", PARAMS), "data": ("tokens", TOKENS), "compute_optimal": ("FLOPs", COMPUTE)}


def refuse_out_of_range(inp: Input, scaling_type: str) -> None:
    """scale_min and scale_max are levels of the study's main axis: refused up front, by their own names, outside
    the range the steps accept for that axis (the targets and fixed sizes carry the same bounds in Input)."""
    if scaling_type not in MAIN_AXIS_RANGE:
        return
    unit, (low, high) = MAIN_AXIS_RANGE[scaling_type]
    for field in ("scale_min", "scale_max"):
        value = getattr(inp, field)
        if value is not None and not low <= value <= high:
            raise InputError(field, f"{field}: a {scaling_type} study's main axis is {unit}, accepted in "
                                    f"[{low:g}, {high:g}]; got {value:g}")


def refuse_levels_out_of_range(inp: Input, scaling_type: str, ls_out) -> None:
    """Before any simulation: the main axis' levels and its held-out point (the default target and validation
    run) inside the range the steps accept, else refused by the field that set them."""
    factor = main_factor(scaling_type, ls_out) if scaling_type in MAIN_AXIS_RANGE else None
    if factor is None or not factor.levels:
        return
    unit, (low, high) = MAIN_AXIS_RANGE[scaling_type]
    budget = "budget_flops" if inp.budget_flops is not None else "budget_gpu_hours"
    given_budget = inp.budget_flops is not None or inp.budget_gpu_hours is not None
    bottom, top = min(factor.levels), max([*factor.levels, factor.held_out_level or 0.0])
    if bottom < low:
        field = "scale_min" if inp.scale_min is not None or not given_budget else budget
        raise InputError(field, f"{field}: the {scaling_type} study's {unit} levels start at {bottom:.3g}, below the "
                                f"{low:g} accepted" + ("; the budget caps them: raise it" if field == budget else ""))
    if top > high:
        field = "scale_max" if inp.scale_max is not None else "scale_min"
        raise InputError(field, f"{field}: the {scaling_type} study's {unit} levels (with the held-out point one "
                                f"step past the top, {top:.3g}) pass the {high:g} accepted; lower {field}")


def refuse_unaffordable(inp: Input, scaling_type: str, budget_flops: float | None, dm_out: dmc.Output) -> None:
    """Before any simulation: a budget that buys not one run of the plan is refused by the caller's budget field,
    with the cheapest run's cost and the fields that set it."""
    if budget_flops is None or scaling_type == "inference" or not dm_out.runs:
        return
    cheapest = min(dm_out.runs, key=lambda r: float(r["C"]))
    if float(cheapest["C"]) <= budget_flops:
        return
    field = "budget_flops" if inp.budget_flops is not None else "budget_gpu_hours"
    given = f"{inp.budget_flops:.3g} FLOPs" if inp.budget_flops is not None else f"{inp.budget_gpu_hours:.3g} GPU-hours"
    hours = cheapest.get("gpu_hours")
    cost = f"{float(cheapest['C']):.3g} FLOPs" + (f" ({float(hours):.3g} GPU-hours)" if hours is not None else "")
    setters = {"model": "fixed_tokens or scale_min", "data": "fixed_parameters or scale_min",
               "compute_optimal": "scale_min"}[scaling_type]
    raise InputError(field, f"{field}: {given} buys no run of this plan; the cheapest (N = {float(cheapest['N']):.3g}, "
                            f"D = {float(cheapest['D']):.3g}) costs {cost}. Raise {field} or lower {setters}")


def run(inp: Input, progress: Callable[[float, float, str], None] | None = None) -> Output:
    """The whole flow; a step Input refusing what the strategy derived is an InputError on the strategy's field."""
    try:
        return _run(inp, progress)
    except ValidationError as exc:
        first = next((e for e in exc.errors() if e.get("loc")), {"loc": ("scale_max",)})
        field = DRIVERS.get(str(first["loc"][0]), "scale_max")
        raise InputError(field, f"{field}: the plan built from it gives a step values it refuses "
                                f"({format_validation_error(exc)}); bring {field} (and scale_min, scale_max, the "
                                "targets) within the steps' ranges") from None


def _run(inp: Input, progress: Callable[[float, float, str], None] | None = None) -> Output:
    total = len(STEP_ORDER)
    deadline = time.perf_counter() + inp.time_limit_s  # one bound for both Monte Carlo steps together
    tick = (lambda i, msg: progress(i, total, msg)) if progress is not None else (lambda i, msg: None)
    defaults: list[fi.DefaultUsed] = []

    tick(0, "factor_identification")
    fi_out = _identify(inp)
    scaling_type = fi_out.scaling_type
    if scaling_type not in ("data", "model", "compute_optimal", "inference"):
        raise InputError("scaling_type", f"the strategy plans data, model, compute_optimal or inference studies; "
                                         f"got {scaling_type!r}")
    refuse_out_of_range(inp, scaling_type)
    gate = knowledge.budget_gate(scaling_type)
    gate_reps = _replicate_floor(gate)
    fixed: dict[str, float] = {}
    ls_extra: dict[str, Any] = {}
    if scaling_type == "model":
        fixed["D"] = _fixed_tokens(inp, fi_out, defaults)
        ls_extra["fixed_tokens"] = fixed["D"]
    elif scaling_type in ("data", "inference"):
        fixed["N"] = _fixed_parameters(inp, fi_out, defaults)
        if scaling_type == "data":
            ls_extra["fixed_parameters"] = fixed["N"]

    tick(1, "level_specification")
    ls_out = _specify_levels(inp, fi_out, ls_extra)
    refuse_levels_out_of_range(inp, scaling_type, ls_out)

    tick(2, "metric_specification")
    ms_input = ms.Input(scaling_type=scaling_type, primary_metric=inp.primary_metric,
                        downstream_tasks=inp.downstream_tasks)
    ms_out = ms.run(ms_input)

    tick(3, "design_matrix_construction")
    result_columns = _result_columns(scaling_type, ms_out)
    dm_out = dmc.run(_design_input(inp, scaling_type, ls_out, fixed, gate_reps, result_columns))
    refuse_unaffordable(inp, scaling_type, fi_out.budget_flops, dm_out)
    held = held_axes(scaling_type, ls_out)

    tick(4, "sample_size_estimation")
    if scaling_type == "compute_optimal":
        target = _target_compute(inp, ls_out, defaults)
    elif scaling_type in ("model", "data"):
        target = _target_scale(inp, scaling_type, ls_out, defaults)
    else:
        target = None
    ss_out = sse.run(_sample_size_input(inp, scaling_type, dm_out, ls_out, fixed, target, gate_reps,
                                        _time_left(deadline)),
                     progress=_scaled(progress, 4, total, "sample_size_estimation"))
    replicates, target_met = _replicates_needed(ss_out, gate_reps)
    if replicates != gate_reps:
        # The run table is rebuilt with the replicates the Monte Carlo asked for (same seed, same levels).
        dm_out = dmc.run(_design_input(inp, scaling_type, ls_out, fixed, replicates, result_columns))
    if held:  # a one-axis sweep of a study with more axes: say which were held and how to vary them
        dm_out.warnings.append(dmc.StepWarning(
            code="axes_held_fixed", severity="warning",
            message=f"The {scaling_type} sweep varies one axis; {', '.join(f'{k} = {v:g}' for k, v in held.items())} "
                    "held at its middle level. To learn how loss scales with it too, sweep it in a second design "
                    "(design_matrix_construction with design full_factorial over both axes) or fix it by hand."))
        # ... and the metric protocol states the same replicates as the run table
        ms_out = ms.run(ms_input.model_copy(update={"replicates": replicates}))
        _default(defaults, "replicates", replicates, "sample_size_estimation: the first replicate count meeting "
                                                     "the precision asked (design_matrix_construction rebuilt with it)")

    tick(5, "budget_constrained_design")
    bc_out, held = None, []
    if scaling_type != "inference":
        # the validation run is paid first: the budget left buys the runs the law is fitted on
        held = validation_runs(scaling_type, held_out_point(scaling_type, ls_out), fixed, dm_out.cost.peak_flops,
                               dm_out.cost.mfu)
        reserve = sum(r["C"] for r in held)
        cheapest = min(float(r["C"]) for r in dm_out.runs)
        if fi_out.budget_flops is not None and (reserve > VALIDATION_SHARE * fi_out.budget_flops
                                                or fi_out.budget_flops - reserve < cheapest):
            reserve, held = 0.0, []  # unaffordable: the plan says so (validation_run check) rather than overspend
        bc_out = bcd.run(_budget_input(inp, scaling_type, dm_out, fi_out, fixed, target, replicates,
                                       _time_left(deadline), reserve),
                         progress=_scaled(progress, 5, total, "budget_constrained_design"))
    tick(total, "checks")
    table, memory_how = final_table(scaling_type, held, dm_out, bc_out, inp.seed, inp.hardware)
    return assemble(inp, fi_out, ls_out, ms_out, dm_out, ss_out, bc_out, gate, replicates, target_met, defaults,
                    table, target, fixed, memory_how)
