"""The flow: every step in order, then the checks and the assembled plan."""
from __future__ import annotations

import time
from typing import Any, Callable

from pydantic import BaseModel

from .. import knowledge
from ..errors import InputError
from ..sops import design_matrix_construction as dmc
from ..sops import factor_identification as fi
from ..sops import metric_specification as ms
from ..sops import sample_size_estimation as sse
from ..tactics import budget_constrained_design as bcd
from .checks import (
    _check_budget, _check_factors, _check_final_levels, _check_gate_runs, _check_levels, _check_replicates,
    _check_step_findings, _replicate_counts, _scale_points, _verdict)
from .inputs import (
    _budget_input, _default, _design_input, _dump, _fixed_parameters, _fixed_tokens, _identify, _range,
    _replicate_floor, _replicates_needed, _result_columns, _sample_size_input, _specify_levels, _target_compute,
    _target_scale)
from ..step_order import STEP_ORDER
from .models import Check, Input, Output, Summary


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


def run(inp: Input, progress: Callable[[float, float, str], None] | None = None) -> Output:
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

    tick(2, "metric_specification")
    ms_input = ms.Input(scaling_type=scaling_type, primary_metric=inp.primary_metric,
                        downstream_tasks=inp.downstream_tasks)
    ms_out = ms.run(ms_input)

    tick(3, "design_matrix_construction")
    result_columns = _result_columns(scaling_type, ms_out)
    dm_out = dmc.run(_design_input(inp, scaling_type, ls_out, fixed, gate_reps, result_columns))

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
        # ... and the metric protocol states the same replicates as the run table
        ms_out = ms.run(ms_input.model_copy(update={"replicates": replicates}))
        _default(defaults, "replicates", replicates, "sample_size_estimation: the first replicate count meeting "
                                                     "the precision asked (design_matrix_construction rebuilt with it)")

    tick(5, "budget_constrained_design")
    bc_out = None
    if scaling_type != "inference":
        bc_out = bcd.run(_budget_input(inp, scaling_type, dm_out, fi_out, fixed, target, replicates,
                                       _time_left(deadline)),
                         progress=_scaled(progress, 5, total, "budget_constrained_design"))
    tick(total, "checks")
    return _assemble(inp, fi_out, ls_out, ms_out, dm_out, ss_out, bc_out, gate, replicates, target_met, defaults)


def _skipped(bc_out) -> dict[str, str]:
    if bc_out is not None:
        return {}
    return {"budget_constrained_design": (
        "Not applicable to inference studies: its run selection optimises a training law L(N, D) per FLOP; an inference plan has no such law, so its runs "
        "are priced one by one in the design matrix (GPU-hours at the hardware peak and MFU) and checked against "
        "the budget in the consistency checks")}


def _assemble(inp, fi_out, ls_out, ms_out, dm_out, ss_out, bc_out, gate, replicates, target_met, defaults) -> Output:
    scaling_type = fi_out.scaling_type
    if bc_out is not None:
        final_runs, csv_text, template = bc_out.runs, bc_out.csv, bc_out.results_template_csv
        total_flops, total_hours, source = bc_out.total_cost_flops, bc_out.total_gpu_hours, "budget_constrained_design"
    else:
        final_runs, csv_text, template = dm_out.runs, dm_out.csv, dm_out.results_template_csv
        total_flops = dm_out.cost.total_flops if scaling_type != "inference" else None
        total_hours, source = dm_out.cost.total_gpu_hours, "design_matrix_construction"
    setting_columns = {"model": ("N", "D"), "data": ("N", "D"), "compute_optimal": ("N", "D"),
                       "inference": ("batch_size", "seq_len", "N")}[scaling_type]
    steps = {"factor_identification": fi_out, "level_specification": ls_out, "metric_specification": ms_out,
             "design_matrix_construction": dm_out, "sample_size_estimation": ss_out,
             "budget_constrained_design": bc_out}
    checks = [
        _check_factors(fi_out, dm_out, scaling_type),
        _check_levels(ls_out, dm_out, scaling_type),
        _check_final_levels(final_runs, scaling_type, _range(gate["scale_points"])),
        _check_replicates(final_runs, setting_columns, replicates, target_met, ss_out, gate),
        _check_budget(total_flops, total_hours, fi_out, inp),
        _check_gate_runs(len(final_runs), gate),
        *_check_step_findings(steps),
    ]
    if bc_out is not None and bc_out.verdict.status == "unaffordable":
        checks.append(Check(name="budget_affords_gate_minimum", passed=False, severity="major",
                            detail=bc_out.verdict.message))
    verdict, reasons = _verdict(checks)
    budget_hours = inp.budget_gpu_hours
    if budget_hours is None and fi_out.budget_flops is not None:
        budget_hours = dm_out.cost.total_gpu_hours * fi_out.budget_flops / dm_out.cost.total_flops \
            if dm_out.cost.total_flops and dm_out.cost.total_gpu_hours else None
    used = None
    if fi_out.budget_flops and total_flops is not None:
        used = total_flops / fi_out.budget_flops
    elif budget_hours and total_hours is not None:
        used = total_hours / budget_hours
    counts = _replicate_counts(final_runs, setting_columns)
    summary = Summary(scaling_type=scaling_type, design=dm_out.design,
                      scale_points=_scale_points(final_runs, scaling_type),
                      compute_budgets=len({float(r["C"]) for r in final_runs}) if scaling_type == "compute_optimal"
                      else None,
                      replicates=min(counts) if counts else 0, n_runs=len(final_runs), total_flops=total_flops,
                      total_gpu_hours=total_hours, budget_flops=fi_out.budget_flops, budget_gpu_hours=budget_hours,
                      budget_used=used)
    out = Output(
        question=inp.question, scaling_type=scaling_type, factor_identification=fi_out, level_specification=ls_out,
        metric_specification=ms_out, design_matrix_construction=dm_out, sample_size_estimation=ss_out,
        budget_constrained_design=bc_out, skipped_steps=_skipped(bc_out), final_plan_from=source, design_csv=csv_text,
        results_template_csv=template, budget_gate=gate, summary=summary, checks=checks, verdict=verdict,
        reasons=reasons, defaults_used=defaults, warnings=_step_warnings(steps), report_markdown="")
    from ..report import render_plan  # jinja2 only when a plan is rendered

    return out.model_copy(update={"report_markdown": render_plan(out)})
