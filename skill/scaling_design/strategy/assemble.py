"""The plan assembled: the final run table made once, checks read from it, and the record an
orchestrating skill reads (scaling_axes, fitting_model, validation_point, total_runs, ...)."""
from __future__ import annotations

import math
from typing import Any

from ..errors import InputError
from ..tactics import statistical_method_selection as sms
from .checks import (
    _check_budget, _check_factors, _check_final_levels, _check_gate_runs, _check_levels, _check_replicates,
    _check_step_findings, _replicate_counts, _scale_points, _verdict)
from .inputs import _dump, _range, held_axes
from .memory import with_memory
from .models import Check, Output, Summary
from .run_table import (SETTING_COLUMNS, VALIDATION_AXIS, VALIDATION_SHARE, FinalTable, build_table,
                        validation_runs)

__all__ = ["assemble", "final_table"]


def _skipped(bc_out) -> dict[str, str]:
    if bc_out is not None:
        return {}
    return {"budget_constrained_design": (
        "Not applicable to inference studies: its run selection optimises a training law L(N, D) per FLOP; an "
        "inference plan has no such law, so its cells are priced one by one in the design matrix and checked "
        "against the budget in the consistency checks")}


def held_out_point(scaling_type: str, ls_out) -> float | None:
    main = {"model": "parameters", "data": "tokens", "compute_optimal": "compute"}.get(scaling_type)
    factor = next((f for f in ls_out.factors if f.name == main or f.kind == main), None)
    return None if factor is None else factor.held_out_level


def final_table(scaling_type: str, validation: list[dict[str, Any]], dm_out, bc_out, seed: int,
                hardware: str = "H100") -> tuple[FinalTable, str | None]:
    chosen = bc_out.runs if bc_out is not None else dm_out.runs
    how = None
    if scaling_type == "inference":
        chosen, how = with_memory(chosen, float(chosen[0]["N"]), hardware)
    return build_table(scaling_type, chosen, validation, seed, dm_out.result_columns), how


def _check_benchmark_time(table: FinalTable, how: str | None) -> Check | None:
    if how is None:
        return None
    hours = sum(float(r["gpu_hours"]) for r in table.runs)
    return Check(name="benchmark_time", passed=True, severity="minor",
                 detail=f"{len(table.runs)} benchmarks take about {hours:.3g} GPU-hours of requests x expected "
                        "latency (the roofline model of the design matrix section)")


def _check_memory(table: FinalTable, how: str | None) -> Check | None:
    if how is None:
        return None
    over = {(r["batch_size"], r["seq_len"]): r["memory_gb"] for r in table.runs if not r["memory_ok"]}
    cells = len({(r["batch_size"], r["seq_len"]) for r in table.runs})
    if not over:
        return Check(name="cells_fit_in_memory", passed=True, severity="minor",
                     detail=f"every one of {cells} cells fits: {how}")
    worst = sorted(over.items(), key=lambda kv: -kv[1])[:3]
    listed = ", ".join(f"batch {b:g} x {s:g} tokens ({gb:.3g} GB)" for (b, s), gb in worst)
    return Check(name="cells_fit_in_memory", passed=False, severity="minor",
                 detail=f"{len(over)} of {cells} cells do not fit (largest: {listed}); {how}. Drop those cells, "
                        "shard the model over more accelerators, or cap batch x sequence length")


def _check_validation(scaling_type: str, table: FinalTable, ls_out, fi_out, target: float | None,
                      peak: float, mfu: float, fixed: dict[str, float]) -> Check | None:
    if scaling_type not in VALIDATION_AXIS:
        return None
    axis = VALIDATION_AXIS[scaling_type]
    val = [r for r in table.runs if r["role"] == "validation"]
    if not val:
        held = validation_runs(scaling_type, held_out_point(scaling_type, ls_out), fixed, peak, mfu)
        cost = held[0]["C"] if held else float("nan")
        return Check(name="validation_run", passed=False, severity="minor",
                     detail=f"the held-out run ({axis} = {held[0][axis] if held else float('nan'):.3g}) costs "
                            f"{cost:.3g} FLOPs, more than {VALIDATION_SHARE:.0%} of the budget: the plan has no run to "
                            "score the extrapolation on; raise the budget or lower the range")
    top = max(r[axis] for r in table.runs if r["role"] == "fit")
    point = val[0][axis]
    reach = "" if target is None else f"; the target {axis} = {target:.3g} is {math.log10(target / point):.2g} " \
                                      "decades beyond it"
    ok = point > top and (target is None or point <= target * (1 + 1e-9))
    return Check(name="validation_run", passed=ok, severity="minor",
                 detail=f"validation run at {axis} = {point:.3g}, above the largest fitted {top:.3g}{reach}" if ok else
                 f"validation run at {axis} = {point:.3g} does not lie between the largest fitted level {top:.3g} and "
                 f"the target {target:.3g}: move the held-out point toward the target")


# the throughput/latency model a grid of benchmarks is fitted with (Pope et al. 2023, section 2)
INFERENCE_MODEL = ("roofline latency model (Pope et al. 2023, section 2): TTFT = a x batch x prompt tokens "
                   "(compute-bound prefill); time per output token = max(t_w + k x batch x tokens held, "
                   "c x batch) (weights and KV-cache reads, or compute); throughput = batch x output tokens / "
                   "(TTFT + output tokens x time per output token)")


def _fitting_model(scaling_type: str, table: FinalTable, replicates: int, seed: int) -> dict[str, Any]:
    """statistical_method_selection's answer for this plan (the skill's tactic, called as the skill lists it)."""
    if scaling_type == "inference":
        cells = len({tuple(r[c] for c in SETTING_COLUMNS["inference"]) for r in table.runs})
        out = sms.run(sms.Input(task="compare_conditions", n_groups=max(cells, 2), runs_per_group=replicates,
                                n_comparisons=max(cells - 1, 1)))
        return {"form": INFERENCE_MODEL,
                "objective": "per cell: the median of its replicates with a bootstrap percentile interval (the "
                             "replicate spread); the model's coefficients by least squares on the log of the cell "
                             "medians, checked against the expected_* columns of the run table",
                "procedure": f"{out.primary.name} across cells ({out.primary.reason}); p50/p99 latency within each "
                             "replicate"}
    points = len({tuple(r[c] for c in ("N", "D")) for r in table.runs if r["role"] == "fit"})
    try:
        out = sms.run(sms.Input(task="fit_scaling_law", n_runs=table.n_fit, n_scales=points, replicates=replicates,
                                scaling_axes="params_and_tokens" if scaling_type == "compute_optimal" else "single"))
    except InputError as exc:  # too few runs for any law: the plan's checks say why, the record says what is missing
        return {"form": None, "objective": None, "procedure": f"no fit possible: {exc}"}
    cfg = out.fit_config
    return {"form": cfg.form, "objective": f"{cfg.objective} (delta {cfg.delta:g})",
            "procedure": f"{out.primary.name}; {cfg.bootstrap} bootstrap resamples (seed {cfg.seed}), "
                         f"{cfg.level:.0%} intervals" +
                         ("; validation runs held out and scored after the fit" if table.n_validation else "")}


def _record(scaling_type: str, table: FinalTable, fi_out, ms_out, target: float | None, total_flops, total_hours,
            replicates: int, seed: int) -> dict[str, Any]:
    axis = {"model": "N", "data": "D", "compute_optimal": "C", "inference": "batch_size"}[scaling_type]
    val = [r for r in table.runs if r["role"] == "validation"]
    validation_point = None
    if val:
        validation_point = {"axis": axis, "value": val[0][axis], "run_ids": [r["run_id"] for r in val],
                            **{c: val[0][c] for c in ("N", "D", "C") if c in val[0]}}
    quantity = {"model": "loss", "data": "loss", "compute_optimal": "n_opt"}.get(scaling_type)
    extrapolation = None if target is None else {"axis": axis, "value": target, "quantity": quantity}
    alpha = ms_out.significance.alpha
    return dict(
        scaling_axes=[{"name": a.name, "kind": a.kind, "minimum": a.minimum, "maximum": a.maximum, "unit": a.unit}
                      for a in fi_out.independent_variables],
        fitting_model=_fitting_model(scaling_type, table, replicates, seed),
        controlled_variables=[_dump(c) for c in fi_out.control_variables],
        metrics={"primary": ms_out.primary_metric.name, "secondary": [m.name for m in ms_out.secondary_metrics]},
        validation_point=validation_point, extrapolation_target=extrapolation, total_runs=len(table.runs),
        estimated_total_flops=total_flops, estimated_gpu_hours=total_hours,
        significance_threshold=alpha)


def assemble(inp, fi_out, ls_out, ms_out, dm_out, ss_out, bc_out, gate, replicates, target_met, defaults,
             table: FinalTable, target: float | None, fixed: dict[str, float],
             memory_how: str | None = None) -> Output:
    scaling_type = fi_out.scaling_type
    fit = table.model_copy(update={"runs": [r for r in table.runs if r["role"] == "fit"]})
    hours = [float(r["gpu_hours"]) for r in table.runs if r.get("gpu_hours") is not None]
    total_hours = sum(hours) if hours else None
    total_flops = None if scaling_type == "inference" else sum(float(r["C"]) for r in table.runs)
    setting = SETTING_COLUMNS[scaling_type]
    steps = {"factor_identification": fi_out, "level_specification": ls_out, "metric_specification": ms_out,
             "design_matrix_construction": dm_out, "sample_size_estimation": ss_out,
             "budget_constrained_design": bc_out}
    checks = [
        _check_factors(fi_out, fit, scaling_type, held_axes(scaling_type, ls_out)),
        _check_levels(ls_out, fit, scaling_type),
        _check_final_levels(fit.runs, scaling_type, _range(gate["scale_points"])),
        _check_replicates(fit.runs, setting, replicates, target_met, ss_out, gate),
        _check_budget(total_flops, total_hours, fi_out, inp),
        _check_gate_runs(len(fit.runs), gate),
        *_check_step_findings(steps),
    ]
    for extra in (_check_memory(table, memory_how), _check_benchmark_time(table, memory_how)):
        if extra is not None:
            checks.append(extra)
    validation = _check_validation(scaling_type, table, ls_out, fi_out, target, dm_out.cost.peak_flops,
                                   dm_out.cost.mfu, fixed)
    if validation is not None:
        checks.append(validation)
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
    counts = _replicate_counts(fit.runs, setting)
    summary = Summary(scaling_type=scaling_type, design=dm_out.design,
                      scale_points=_scale_points(fit.runs, scaling_type),
                      compute_budgets=len({float(r["C"]) for r in fit.runs}) if scaling_type == "compute_optimal"
                      else None,
                      replicates=min(counts) if counts else 0, n_runs=len(table.runs), total_flops=total_flops,
                      total_gpu_hours=total_hours, budget_flops=fi_out.budget_flops, budget_gpu_hours=budget_hours,
                      budget_used=used)
    source = "budget_constrained_design" if bc_out is not None else "design_matrix_construction"
    out = Output(
        question=inp.question, scaling_type=scaling_type, factor_identification=fi_out, level_specification=ls_out,
        metric_specification=ms_out, design_matrix_construction=dm_out, sample_size_estimation=ss_out,
        budget_constrained_design=bc_out, skipped_steps=_skipped(bc_out), final_plan_from=source,
        run_table=table, design_csv=table.csv(), results_template_csv=table.template_csv(), budget_gate=gate,
        summary=summary, checks=checks, verdict=verdict, reasons=reasons, defaults_used=defaults,
        warnings=[{"step": name, **w} for name, o in steps.items() if o is not None
                  for w in _dump(o).get("warnings", [])],
        report_markdown="", truncated=bool(ss_out.truncated or (bc_out is not None and bc_out.truncated)),
        **_record(scaling_type, table, fi_out, ms_out, target, total_flops, total_hours, replicates, inp.seed))
    from ..report import render_plan  # jinja2 only when a plan is rendered

    return out.model_copy(update={"report_markdown": render_plan(out)})
