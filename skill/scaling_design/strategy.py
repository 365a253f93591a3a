"""scaling_design: the whole strategy, every step in order, one plan and a markdown report.

The flow of the skill: factor_identification -> level_specification ->
metric_specification -> design_matrix_construction -> sample_size_estimation ->
budget_constrained_design. Each step is called through its own Input model, fed by
the outputs before it; nothing here redoes a step's work. Afterwards the plan is
checked for consistency (every factor in the matrix, levels as specified, enough
replicates, the budget respected, the Budget Gate met) and given a verdict with
its reasons.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import knowledge
from .errors import InputError
from .sops import design_matrix_construction as dmc
from .sops import factor_identification as fi
from .sops import level_specification as ls
from .sops import metric_specification as ms
from .sops import sample_size_estimation as sse
from .tactics import budget_constrained_design as bcd

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "STEP_ORDER", "Check"]

STEP_ORDER = ("factor_identification", "level_specification", "metric_specification",
              "design_matrix_construction", "sample_size_estimation", "budget_constrained_design")
ScalingType = Literal["data", "model", "compute_optimal", "inference"]
Verdict = Literal["ready", "needs-revision", "major-issues"]
# factor_identification's axis names -> the design matrix's column names
AXIS_COLUMN = {"parameters": "N", "active_parameters": "N", "tokens": "D", "compute": "C",
               "batch_size": "batch_size", "prompt_length": "seq_len"}
TOKENS_PER_PARAMETER_SOURCE = "Hoffmann et al. 2022: about 20 training tokens per parameter is compute-optimal"
LEVEL_RTOL = 1e-6


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=3, max_length=4000, description=(
        "The research question in plain words, e.g. 'How does validation loss scale with model size at 20B "
        "tokens?'. Decides the scaling type when scaling_type is absent."))
    scaling_type: ScalingType | None = Field(None, description=(
        "data (fixed model, growing data), model (fixed data, growing model), compute_optimal (isoFLOP: best "
        "N and D per budget) or inference (throughput/latency vs batch, prompt length). Absent: inferred from "
        "the question."))
    budget_flops: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Training compute available for the whole study, FLOPs (C = 6ND per run)."))
    budget_gpu_hours: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "GPU-hours available for the whole study; converted with the hardware peak and mfu. Used when "
        "budget_flops is absent."))
    hardware: str = Field("H100", description="Accelerator: A100, H100, H200, V100, TPUv4 or MI300X.")
    mfu: float | None = Field(None, gt=0, le=1, allow_inf_nan=False, description=(
        "Model FLOPs utilisation in (0, 1]. Absent: 0.40 (knowledge default)."))
    system: Literal[fi.SYSTEMS] = Field("decoder_only_transformer", description=(  # type: ignore[valid-type]
        "Architecture family: decoder_only_transformer, moe_transformer, encoder_decoder_transformer or other."))
    parameter_counting: Literal["non_embedding", "total"] | None = Field(None, description=(
        "How parameters are counted: non_embedding (Kaplan) or total (Hoffmann; use it to compare with "
        "Chinchilla-style laws). Absent: non_embedding, with a warning."))
    scale_min: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Smallest level of the main axis (parameters, tokens or FLOPs, by scaling type). Absent: "
        "factor_identification's suggestion."))
    scale_max: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Largest level of the main axis, same units; must exceed scale_min. Absent: the suggestion, capped by "
        "the budget."))
    num_levels: int | None = Field(None, ge=3, le=16, description=(
        "Scale points per axis. Absent: level_specification's default inside the Budget Gate (4-8)."))
    fixed_tokens: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Model scaling: training tokens of every model. Absent: 20 x the largest model (it is then trained "
        "compute-optimally, the others on the same data)."))
    fixed_parameters: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Data scaling: parameters of the one model trained on growing data; inference: parameters of the model "
        "served. Absent: data scaling takes the largest token level / 20; inference needs it."))
    target_parameters: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Model scaling: the larger model whose loss the law must predict (the extrapolation target)."))
    target_tokens: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Data scaling: the larger token count whose loss the law must predict."))
    target_compute: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Compute-optimal scaling: the training budget (FLOPs) whose optimal N the study must pin down. Absent: "
        "100 x the largest planned budget."))
    primary_metric: str | None = Field(None, max_length=80, description=(
        "Primary metric if already chosen (e.g. 'validation loss', 'p99 latency'). Absent: held-out cross-entropy "
        "for training studies, throughput for inference."))
    downstream_tasks: list[str] = Field(default_factory=list, max_length=20, description=(
        "Downstream benchmarks to evaluate at each scale, e.g. ['HellaSwag accuracy']."))
    target_relative_error: float = Field(0.05, gt=0, lt=1, description=(
        "Precision asked of the quantity that matters (exponent, loss at the target, or N_opt): the 90th "
        "percentile of its relative error, e.g. 0.05 = 5%."))
    n_sims: int = Field(100, ge=20, le=2000, description=(
        "Simulated data sets per step of the Monte Carlo sample-size curve (more = steadier, slower)."))
    seed: int = Field(0, ge=0, description="Seed for every random step (run order, run seeds, simulations).")
    time_limit_s: float = Field(120.0, gt=0, le=600, description="Wall-clock bound on the Monte Carlo steps, seconds.")

    @model_validator(mode="after")
    def _ranges(self) -> "Input":
        if self.scale_min is not None and self.scale_max is not None and self.scale_min >= self.scale_max:
            raise ValueError(f"`scale_min` must be < `scale_max`; got {self.scale_min:g} >= {self.scale_max:g}")
        return self


class Check(BaseModel):
    name: str = Field(description="Stable check name, e.g. budget_respected.")
    passed: bool = Field(description="Whether the plan passes it.")
    severity: Literal["major", "minor", "info"] = Field(description=(
        "What a failure means: major -> major-issues, minor -> needs-revision, info -> noted only."))
    detail: str = Field(description="What was compared with what.")


class Summary(BaseModel):
    scaling_type: str = Field(description="The scaling type studied.")
    design: str = Field(description="The design built (one_axis_sweep, isoflop, inference_grid, ...).")
    scale_points: int = Field(description="Distinct settings of the main axis in the final plan (isoFLOP designs: "
                                          "the fewest model sizes of any budget).")
    compute_budgets: int | None = Field(None, description="isoFLOP designs: the number of compute budgets.")
    replicates: int = Field(description="Seeds per setting in the final plan.")
    n_runs: int = Field(description="Runs in the final plan.")
    total_flops: float | None = Field(description="Training FLOPs of the final plan (null for inference studies).")
    total_gpu_hours: float | None = Field(description="GPU-hours of the final plan at the stated hardware and MFU.")
    budget_flops: float | None = Field(description="Budget in FLOPs (given or converted from GPU-hours).")
    budget_gpu_hours: float | None = Field(description="Budget in GPU-hours (given or converted from FLOPs).")
    budget_used: float | None = Field(description="Share of the budget the plan spends.")


class Output(BaseModel):
    question: str = Field(description="The research question, as given.")
    scaling_type: str = Field(description="The scaling type studied (given or inferred).")
    factor_identification: fi.Output = Field(description="Step 1: scaling axes, responses, controls, conventions.")
    level_specification: ls.Output = Field(description="Step 2: scale points per axis, with model shapes.")
    metric_specification: ms.Output = Field(description="Step 3: metrics and measurement protocol.")
    design_matrix_construction: dmc.Output = Field(description="Step 4: the run table of the final plan.")
    sample_size_estimation: sse.Output = Field(description="Step 5: replicates needed for the precision asked.")
    budget_constrained_design: bcd.Output | None = Field(description=(
        "Step 6: the runs worth doing under the budget (training studies; null for inference, whose runs are "
        "priced directly)."))
    skipped_steps: dict[str, str] = Field(default_factory=dict, description=(
        "Steps that do not apply to this scaling type, with the reason (tool name -> reason)."))
    final_plan_from: str = Field(description="Which step's run table is the plan: budget_constrained_design "
                                             "(training studies) or design_matrix_construction (inference).")
    design_csv: str = Field(description="The final run table as CSV (design.csv).")
    results_template_csv: str = Field(description="The final run table with empty result columns "
                                                  "(results-template.csv), for fit_scaling_law once filled.")
    budget_gate: dict[str, Any] = Field(description="The skill's Budget Gate row for this scaling type, with source.")
    summary: Summary = Field(description="The final plan in numbers.")
    checks: list[Check] = Field(description="Consistency checks of the whole plan.")
    verdict: Verdict = Field(description="ready, needs-revision (minor check failed) or major-issues.")
    reasons: list[str] = Field(description="Why the verdict: each failed check, and what to change.")
    defaults_used: list[fi.DefaultUsed] = Field(description="Defaults the strategy chose, with sources.")
    warnings: list[dict[str, Any]] = Field(description="Warnings of every step, each with the step's name.")
    report_markdown: str = Field(description="The whole plan as a markdown report (a section per step).")


DESCRIPTION = """
The whole scaling-design strategy in one call: give the research question, the scaling type (data,
model, compute_optimal, inference; inferred when absent), the budget (budget_flops or budget_gpu_hours
with hardware) and the target scale. Runs factor_identification, level_specification,
metric_specification, design_matrix_construction, sample_size_estimation and
budget_constrained_design in order, each fed by the ones before, then checks the plan (every factor in
the run table, levels as specified, enough replicates, budget respected, Budget Gate met). Returns
every step's output under its tool name, a verdict (ready, needs-revision, major-issues) with reasons,
and report_markdown. Next: run the plan, fill the results template, then fit_scaling_law and
compute_optimal_allocation.
"""

EXAMPLE: dict[str, Any] = {
    "question": "How does validation loss scale with model size when every model sees the same 20B tokens?",
    "scaling_type": "model",
    "budget_gpu_hours": 5000,
    "hardware": "H100",
    "fixed_tokens": 2e10,
    "target_parameters": 7e9,
    "n_sims": 60,
    "seed": 0,
}


# ---------------------------------------------------------------- small pieces

def _default(defaults: list[fi.DefaultUsed], name: str, value: Any, source: str) -> None:
    defaults.append(fi.DefaultUsed(name=name, value=value, source=source))


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _axis(fi_out: fi.Output, kind: str):
    return next((a for a in fi_out.independent_variables if a.kind == kind), None)


def _levels(ls_out: ls.Output, name: str) -> list[float]:
    factor = next((f for f in ls_out.factors if f.name == name), None)
    return list(factor.levels) if factor is not None else []


def _main_axis(scaling_type: str) -> str:
    return {"model": "parameters", "data": "tokens", "compute_optimal": "compute", "inference": "batch_size"}[
        scaling_type]


# ---------------------------------------------------------------- the steps

def _identify(inp: Input) -> fi.Output:
    return fi.run(fi.Input(question=inp.question, scaling_type=inp.scaling_type, system=inp.system,
                           parameter_counting=inp.parameter_counting, budget_flops=inp.budget_flops,
                           budget_gpu_hours=inp.budget_gpu_hours, hardware=inp.hardware, mfu=inp.mfu))


def _fixed_tokens(inp: Input, fi_out: fi.Output, defaults: list) -> float | None:
    if inp.fixed_tokens is not None:
        return inp.fixed_tokens
    n_axis = _axis(fi_out, "parameters")
    n_max = inp.scale_max or (n_axis.maximum if n_axis is not None else None)
    if n_max is None:
        return None
    tokens = 20.0 * n_max
    _default(defaults, "fixed_tokens", tokens, f"20 x the largest model ({n_max:.3g}); {TOKENS_PER_PARAMETER_SOURCE}")
    return tokens


def _fixed_parameters(inp: Input, fi_out: fi.Output, defaults: list) -> float | None:
    if inp.fixed_parameters is not None:
        return inp.fixed_parameters
    if fi_out.scaling_type == "inference":
        raise InputError("fixed_parameters", "an inference study needs the model size served: give "
                                             "fixed_parameters (e.g. 7e9)")
    d_axis = _axis(fi_out, "tokens")
    d_min = inp.scale_min or (d_axis.minimum if d_axis is not None else None)
    d_max = inp.scale_max or (d_axis.maximum if d_axis is not None else None)
    if d_max is None:
        return None
    params = d_max / 20.0
    source = (f"the largest token level ({d_max:.3g}) / 20, so the model is compute-optimal at the largest data "
              f"size; {TOKENS_PER_PARAMETER_SOURCE}")
    if fi_out.budget_flops is not None and d_min is not None:
        # Never a model whose sweep the budget cannot pay: 6 N sum(D) per replicate over geometric levels.
        k = inp.num_levels or 6
        tokens = sum(d_min * (d_max / d_min) ** (i / (k - 1)) for i in range(k))
        replicates = _replicate_floor(knowledge.budget_gate("data"))
        affordable = fi_out.budget_flops / (6.0 * tokens * replicates)
        if affordable < params:
            params = affordable
            source = (f"the largest model whose sweep ({k} geometric token levels {d_min:.3g}-{d_max:.3g}, "
                      f"{replicates} replicates, C = 6ND) fits the budget; smaller than the Chinchilla-optimal "
                      f"{d_max / 20.0:.3g} for the largest level")
    _default(defaults, "fixed_parameters", params, source)
    return params


def _specify_levels(inp: Input, fi_out: fi.Output, extra: dict[str, Any]) -> ls.Output:
    overrides: dict[str, Any] = {"hardware": inp.hardware, **extra}
    if inp.num_levels is not None:
        overrides["num_levels"] = inp.num_levels
    if inp.mfu is not None:
        overrides["mfu"] = inp.mfu
    if inp.scale_min is not None or inp.scale_max is not None:
        main = _main_axis(fi_out.scaling_type)
        factors = []
        for var in fi_out.independent_variables:
            row = {"name": var.name, "minimum": var.minimum, "maximum": var.maximum, "unit": var.unit}
            if var.name == main or (main == "parameters" and var.kind == "parameters"):
                row["minimum"] = inp.scale_min or row["minimum"]
                row["maximum"] = inp.scale_max or row["maximum"]
            factors.append(row)
        overrides["factors"] = factors
    return ls.run(ls.input_from_factors(fi_out, **overrides))


def _column_name(metric_name: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else " " for ch in metric_name.lower()).split())


def _result_columns(scaling_type: str, ms_out: ms.Output) -> list[str]:
    """Training studies record the loss fit_scaling_law reads; inference studies their own metrics."""
    if scaling_type != "inference":
        return ["loss"]
    names = [ms_out.primary_metric.name] + [m.name for m in ms_out.secondary_metrics]
    columns = list(dict.fromkeys(_column_name(n) for n in names if _column_name(n)))
    return columns[:20]


def _design_input(inp: Input, scaling_type: str, ls_out: ls.Output, fixed: dict[str, float],
                  replicates: int, result_columns: list[str]) -> dmc.Input:
    common = {"replicates": replicates, "seed": inp.seed, "hardware": inp.hardware, "mfu": inp.mfu,
              "result_columns": result_columns}
    if scaling_type in ("model", "data"):
        # level_specification's factors as they are: the design step maps parameters/tokens to N/D
        factors = [f.model_dump(mode="json") for f in ls_out.factors]
        held = {"D": fixed["D"]} if scaling_type == "model" else {"N": fixed["N"]}
        return dmc.Input(design="one_axis_sweep", factors=factors, fixed=held, **common)
    if scaling_type == "compute_optimal":
        return dmc.Input(design="isoflop", compute_budgets=_levels(ls_out, "compute"), **common)
    return dmc.Input(design="inference_grid", factors=[
        {"name": "batch_size", "levels": _levels(ls_out, "batch_size")},
        {"name": "seq_len", "levels": _levels(ls_out, "prompt_length")},
        {"name": "N", "levels": [fixed["N"]]}], **common)


def _replicate_floor(gate: dict[str, Any]) -> int:
    reps = gate["replicates"]
    return int(reps[0] if isinstance(reps, list) else reps)


def _range(value: Any) -> tuple[float, float]:
    return (float(value[0]), float(value[1])) if isinstance(value, list) else (float(value), float(value))


def _target_scale(inp: Input, scaling_type: str, ls_out: ls.Output, defaults: list) -> float:
    """The scale whose prediction the study is for; absent: level_specification's held-out point."""
    given = {"model": inp.target_parameters, "data": inp.target_tokens}.get(scaling_type)
    if given is not None:
        return given
    main = _main_axis(scaling_type)
    factor = next(f for f in ls_out.factors if f.name == main)
    _default(defaults, {"model": "target_parameters", "data": "target_tokens"}[scaling_type], factor.held_out_level,
             "level_specification's held-out point (the larger scale kept back to validate the extrapolation)")
    return factor.held_out_level


def _target_compute(inp: Input, ls_out: ls.Output, defaults: list) -> float:
    if inp.target_compute is not None:
        return inp.target_compute
    top = max(_levels(ls_out, "compute"))
    _default(defaults, "target_compute", 100.0 * top, "100 x the largest planned budget: about the two decades "
                                                      "Hoffmann et al. 2022 extrapolated (isoFLOP budgets up to 3e21, "
                                                      "Chinchilla trained with 5.8e23 FLOPs)")
    return 100.0 * top


def _prior_at(scaling_type: str, fixed: dict[str, float], counting: str) -> tuple[dict[str, float], str]:
    """A saturating law L(x) = E + A x^-alpha from the Epoch joint law with the other resource held fixed.

    The Epoch law counts total parameters; with another counting it is only an approximate
    prior (small models differ most, Pearce & Song 2024), and the source says so."""
    law = knowledge.published_law("epoch")
    p = law["params"]
    if scaling_type == "model":
        prior = {"E": p["E"] + p["B"] / fixed["D"] ** p["beta"], "A": p["A"], "alpha": p["alpha"]}
        held = f"D = {fixed['D']:.3g} tokens"
    else:
        prior = {"E": p["E"] + p["A"] / fixed["N"] ** p["alpha"], "A": p["B"], "alpha": p["beta"]}
        held = f"N = {fixed['N']:.3g} parameters"
    caveat = "" if counting == "total" else (
        f"; that law counts total parameters, this plan counts {counting.replace('_', '-')}: an approximate prior")
    return prior, f"{law['source']}, joint law with {held}{caveat}"


def _sample_size_input(inp: Input, scaling_type: str, dm_out: dmc.Output, ls_out: ls.Output,
                       fixed: dict[str, float], target: float | None, gate_reps: int, time_left_s: float) -> sse.Input:
    common = {"seed": inp.seed, "n_sims": inp.n_sims, "time_limit_s": time_left_s,
              "target_relative_error": inp.target_relative_error}
    points = _distinct_points(dm_out.runs, ("N", "D"))
    if scaling_type in ("model", "data"):
        prior, source = _prior_at(scaling_type, fixed, inp.parameter_counting or "non_embedding")
        column = "N" if scaling_type == "model" else "D"
        xs = sorted({float(r[column]) for r in dm_out.runs})
        return sse.Input(design_type="fit_precision", form="saturating", prior_params=prior, prior_source=source,
                         design_points=[[x] for x in xs], quantity="loss_at_target", target_point=[target],
                         max_replicates=max(5, gate_reps), **common)
    if scaling_type == "compute_optimal":
        return sse.Input(design_type="fit_precision", form="chinchilla", prior_law="epoch",
                         design_points=[list(p) for p in points], quantity="n_opt", target_compute=target,
                         max_replicates=max(3, gate_reps), **common)
    # inference: how small a difference between two settings the gate's repeats can detect (solve for effect)
    return sse.Input(design_type="two_sample", runs_per_group=max(gate_reps, 2), power=0.8)


def _distinct_points(runs: list[dict[str, Any]], columns: tuple[str, ...]) -> list[tuple[float, ...]]:
    seen: dict[tuple[float, ...], None] = {}
    for r in runs:
        if all(c in r for c in columns):
            seen.setdefault(tuple(float(r[c]) for c in columns), None)
    return list(seen)


def _replicates_needed(ss_out: sse.Output, floor: int) -> tuple[int, bool]:
    """Replicates for the plan: the Monte Carlo's answer, never below the Budget Gate's floor."""
    fp = ss_out.fit_precision
    if fp is None:  # classical: the gate's repeats were the input
        return floor, True
    if fp.needed is not None:
        return max(floor, fp.needed.replicates), True
    tried = max((c.replicates for c in fp.curve), default=floor)
    return max(floor, tried), False


def _budget_input(inp: Input, scaling_type: str, dm_out: dmc.Output, fi_out: fi.Output, fixed: dict[str, float],
                  target: float, replicates: int, time_left_s: float) -> bcd.Input:
    settings = {}
    for r in dm_out.runs:
        settings.setdefault((float(r["N"]), float(r["D"])), float(r["C"]))
    candidates = [{"N": n, "D": d, "cost_flops": c} for (n, d), c in settings.items()]
    budget = fi_out.budget_flops if fi_out.budget_flops is not None else dm_out.cost.total_flops
    args: dict[str, Any] = {"budget": budget, "budget_unit": "flops", "scaling_type": scaling_type,
                            "candidates": candidates, "max_repeats": replicates, "hardware": inp.hardware,
                            "mfu": inp.mfu, "seed": inp.seed, "monte_carlo_sims": inp.n_sims,
                            "time_limit_s": time_left_s}
    if scaling_type == "model":
        args.update(target="loss", target_N=target, target_D=fixed["D"])
    elif scaling_type == "data":
        args.update(target="loss", target_N=fixed["N"], target_D=target)
    else:
        args.update(target="n_opt", target_compute=target)
    return bcd.Input(**args)


# ---------------------------------------------------------------- checks

def _close(a: float, b: float) -> bool:
    return abs(a - b) <= LEVEL_RTOL * max(abs(a), abs(b))


def _covers(values: set[float], levels: list[float]) -> tuple[list[float], list[float]]:
    """Levels missing from the values, and values that are not levels."""
    missing = [lv for lv in levels if not any(_close(lv, v) for v in values)]
    extra = [v for v in values if not any(_close(lv, v) for lv in levels)]
    return missing, extra


def _check_factors(fi_out: fi.Output, dm_out: dmc.Output, scaling_type: str) -> Check:
    columns = set(dm_out.columns)
    absent = []
    for axis in fi_out.independent_variables:
        if scaling_type == "compute_optimal" and axis.kind == "parameters":
            continue  # isoFLOP sizes are set per budget: N is a column, not a factor with levels
        column = AXIS_COLUMN.get(axis.name, axis.name)
        varied = column in columns and len({r.get(column) for r in dm_out.runs}) > 1
        if not varied:
            absent.append(f"{axis.name} (column {column})")
    names = ", ".join(a.name for a in fi_out.independent_variables)
    return Check(name="factors_in_matrix", passed=not absent, severity="major",
                 detail=f"every scaling axis ({names}) is a varied column of the run table" if not absent else
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
    from .report import render_plan  # jinja2 only when a plan is rendered

    return out.model_copy(update={"report_markdown": render_plan(out)})
