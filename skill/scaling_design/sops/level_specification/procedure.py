"""The procedure: feasible levels per factor kind, defaults, cost and ``run``."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel

from ... import knowledge
from ...errors import InputError
from ...laws.cost import flops_from_gpu_hours, gpu_hours
from ..factor_identification import DefaultUsed, Finding, resolve_axis
from .checks import _budget_checks, _held_out_cost, _range_checks, _shape_checks, _tpp_check
from .models import Check, FactorLevels, FactorRange, Input, Output, _VERDICT_RANK
from .labels import general_checks, general_num_levels, label_factor, screening_notes
from .shapes import _ShapeRules, _held_out, _spaced, search_shape


# --------------------------------------------------------------------------------------------
# Feasible levels per kind

def _factor_kind(name: str, axes: dict) -> str:
    key = resolve_axis(name, axes)
    return axes[key]["kind"] if key is not None else "continuous"


def _feasible(kind: str, targets: np.ndarray, rules: _ShapeRules, tokens_per_step: int):
    """(levels, shapes, steps) for one factor."""
    if kind == "parameters":
        shapes = [search_shape(rules, float(t)) for t in targets]
        return [float(s.counted_params) for s in shapes], shapes, []
    if kind == "tokens":
        steps = [max(1, int(round(float(t) / tokens_per_step))) for t in targets]
        return [float(s * tokens_per_step) for s in steps], [], steps
    if kind == "batch_size":
        return [float(2 ** max(0, round(math.log2(float(t))))) for t in targets], [], []
    if kind == "integer":
        return [float(max(1, round(float(t)))) for t in targets], [], []
    return [float(t) for t in targets], [], []


# An MoE's per-token path is a dense transformer (shared layers plus the routed experts' FFN): the shapes realise
# the active count; the experts not routed add capacity, not per-token FLOPs (Clark et al. 2022).
MOE_NOTE = {"active_parameters": "; each shape is the dense-equivalent per-token path of the MoE (its total_params "
                                 "leave out the experts not routed: total = active + (num_experts - top_k) x one "
                                 "expert's FFN)"}


def _justification(kind: str, spacing: str, k: int, ratio: float | None, decades: float) -> str:
    if spacing == "geometric":
        base = (f"{k} geometrically spaced levels (ratio {ratio:.3g}) over {decades:.2g} decades: equal spacing in "
                "log space, where power laws are straight lines, so every point carries the same weight in the "
                "log-log fit")
    elif spacing == "linear":
        base = (f"{k} linearly spaced levels over {decades:.2g} decades, as requested: the low end is sparse on a log "
                "axis, so prefer geometric spacing for a power-law fit")
    elif spacing == "log_uniform":
        base = f"{k} levels over {decades:.2g} decades: both ends kept, interior drawn one per stratum of log space"
    else:
        base = f"{k} levels given by the user, {decades:.2g} decades"
    extra = {"parameters": "; each target realised by a transformer shape whose counted parameters are within the "
                           "tolerance, with the aspect ratio in band",
             "tokens": "; token counts rounded to whole optimizer steps of one batch",
             "batch_size": "; batch sizes rounded to powers of two",
             "integer": "; rounded to whole numbers"}.get(kind, "")
    return base + extra


# --------------------------------------------------------------------------------------------
# Cost

def _level_map(out_factors: list[FactorLevels]) -> dict[str, list[float]]:
    return {f.kind: f.levels for f in out_factors if f.kind in ("parameters", "tokens", "compute")}


def _runs_n_d(inp: Input, levels: dict[str, list[float]], tpp_default: float) -> list[tuple[float, float]] | None:
    """(N, D) of every grid point of the training axes, or None when the plan does not fix them."""
    n_levels, d_levels, c_levels = levels.get("parameters"), levels.get("tokens"), levels.get("compute")
    if n_levels and d_levels:
        return [(n, d) for n in n_levels for d in d_levels]
    if n_levels and c_levels:
        return [(n, c / (6.0 * n)) for c in c_levels for n in n_levels]
    if n_levels:
        if inp.fixed_tokens is not None:
            return [(n, inp.fixed_tokens) for n in n_levels]
        tpp = inp.tokens_per_parameter if inp.tokens_per_parameter is not None else tpp_default
        return [(n, tpp * n) for n in n_levels]
    if d_levels and inp.fixed_parameters is not None:
        return [(inp.fixed_parameters, d) for d in d_levels]
    return None


def _budget(inp: Input, defaults: list[DefaultUsed]) -> tuple[float | None, float | None, float]:
    """(budget FLOPs, peak FLOP/s, mfu)."""
    peak, mfu, mfu_source = knowledge.accelerator(inp.hardware, inp.mfu)
    priced = inp.study_kind == "scaling" or inp.budget_flops is not None or inp.budget_gpu_hours is not None
    if mfu_source is not None and priced:
        defaults.append(DefaultUsed(name="mfu", value=mfu, source=mfu_source))
    budget = inp.budget_flops
    if budget is None and inp.budget_gpu_hours is not None:
        budget = float(flops_from_gpu_hours(inp.budget_gpu_hours, peak, mfu))
    return budget, peak, mfu


# --------------------------------------------------------------------------------------------

def _default_num_levels(scaling_type: str, table: dict) -> tuple[int, str]:
    preferred = table["num_levels"]["preferred"]
    if scaling_type == "custom":
        return preferred, table["num_levels"]["source"]
    gate = knowledge.budget_gate(scaling_type)
    lo, hi = gate["scale_points"]
    return min(max(preferred, lo), hi), f"{table['num_levels']['source']} [{lo}, {hi}] ({gate['source']})"


def _resolve_defaults(inp: Input, table: dict, shape_defaults: dict, defaults: list[DefaultUsed],
                      kinds: list[str]) -> tuple[int, int]:
    """Record the defaults that apply; return (num_levels, replicates)."""
    if inp.num_levels is not None:
        k, k_source = inp.num_levels, ""
    elif inp.study_kind == "general":
        k, k_source = general_num_levels(inp)
    else:
        k, k_source = _default_num_levels(inp.scaling_type, table)
    if inp.num_levels is None:
        defaults.append(DefaultUsed(name="num_levels", value=k, source=k_source))
    if inp.replicates is not None:
        reps = inp.replicates
    elif inp.scaling_type == "custom":
        reps = 1
        defaults.append(DefaultUsed(name="replicates", value=reps, source=(
            "no Budget Gate row for custom or general studies: sample_size_estimation gives the replicates")))
    else:
        gate = knowledge.budget_gate(inp.scaling_type)
        r = gate["replicates"]
        reps = r[0] if isinstance(r, list) else r
        defaults.append(DefaultUsed(name="replicates", value=reps, source=f"lower Budget Gate count ({gate['source']})"))
    shape, tokens = table["shape"], table["tokens"]
    if "parameters" in kinds:
        for name, given, value, source in (
                ("vocab_size", inp.vocab_size, shape["vocab_size"], shape["vocab_source"]),
                ("head_dim", inp.head_dim, shape_defaults["head_dim"], "defaults.toml [shape]"),
                ("tied_embeddings", inp.tied_embeddings, shape["tied_embeddings"], shape["tied_source"]),
                ("aspect_ratio_min", inp.aspect_ratio_min, shape_defaults["aspect_ratio_band"][0],
                 "defaults.toml [shape]: " + shape_defaults["source"]),
                ("aspect_ratio_max", inp.aspect_ratio_max, shape_defaults["aspect_ratio_band"][1],
                 "defaults.toml [shape]: " + shape_defaults["source"])):
            if given is None:
                defaults.append(DefaultUsed(name=name, value=value, source=source))
    if ("tokens" in kinds or "parameters" in kinds) and inp.seq_len is None:
        defaults.append(DefaultUsed(name="seq_len", value=tokens["seq_len"], source=tokens["batch_source"]))
    if "tokens" in kinds and inp.batch_size is None:
        defaults.append(DefaultUsed(name="batch_size", value=tokens["batch_size"], source=tokens["batch_source"]))
    return k, reps


def _extrapolates(inp: Input) -> bool:
    """Whether the study fits a law to extrapolate, so a larger point is held out to check it."""
    return inp.study_kind == "scaling" and inp.scaling_type != "inference"


def _level_factor(f: FactorRange, inp: Input, k_default: int, kind: str, rules: _ShapeRules, tokens_per_step: int,
                  table: dict) -> FactorLevels:
    if f.factor_type != "continuous":
        return label_factor(f, inp)
    spacing = f.spacing or ("custom" if f.custom_levels is not None else inp.spacing)
    if f.custom_levels is not None and spacing != "custom":
        spacing = "custom"
    if spacing == "custom":
        targets = np.asarray(f.custom_levels, float)
    else:
        targets = _spaced(f.minimum, f.maximum, f.num_levels or k_default, spacing, inp.seed)
    k = len(targets)
    ratio = float((targets[-1] / targets[0]) ** (1.0 / (k - 1))) if spacing == "geometric" else None
    levels, shapes, steps = _feasible(kind, targets, rules, tokens_per_step)
    held = _held_out(targets, spacing)
    held_shape = search_shape(rules, held) if kind == "parameters" and _extrapolates(inp) else None
    if held_shape is not None:
        held = float(held_shape.counted_params)
    elif kind == "tokens":
        held = float(max(1, round(held / tokens_per_step)) * tokens_per_step)
    elif kind == "batch_size":
        held = float(2 ** round(math.log2(held)))
    elif kind == "integer":
        held = float(round(held))
    decades = math.log10(max(levels) / min(levels))
    if not _extrapolates(inp):
        held = None  # a comparison or a benchmark grid extrapolates nothing
    return FactorLevels(
        name=f.name, kind=kind, unit=f.unit, num_levels=k, levels=levels, target_levels=[float(t) for t in targets],
        spacing=spacing, ratio=ratio, decades_covered=decades,
        justification=(f"{k} {spacing.replace('_', '-')} levels from {levels[0]:.4g} to {levels[-1]:.4g}, one "
                       "condition each" if inp.study_kind == "general" else
                       _justification(kind, spacing, k, ratio, decades) + MOE_NOTE.get(f.name, "")),
        source=_factor_source(kind, spacing, table, rules.gated), shapes=shapes, steps=steps, held_out_level=held,
        held_out_shape=held_shape, notes=_factor_notes(k, targets, levels, inp))


def _factor_notes(k: int, targets: np.ndarray, levels: list[float], inp: Input) -> list[str]:
    notes = screening_notes(k, "continuous", inp.screening)
    moved = max((abs(lv / t - 1.0) for lv, t in zip(levels, targets) if t), default=0.0)
    if moved > 1e-9:
        notes.append(f"levels moved by up to {100 * moved:.1f}% from the ideal targets to be feasible")
    return notes


def _factor_source(kind: str, spacing: str, table: dict, gated: bool) -> str:
    parts = [table["num_levels"]["source"] if spacing != "custom" else "levels given by the user"]
    if kind == "parameters":
        parts += [table["shape"]["tolerance_source"], table["shape"]["preferred_source"]]
        if gated:
            parts.append(table["shape"]["gated_source"])
    elif kind == "tokens":
        parts.append(table["tokens"]["batch_source"])
    return "; ".join(parts)


def _plan_warnings(inp: Input, out_factors: list[FactorLevels], tokens_per_step: int, table: dict,
                   warnings: list[Finding]) -> None:
    for fl in out_factors:
        if fl.kind == "tokens":
            gaps = [abs(lv - t) / t for lv, t in zip(fl.levels, fl.target_levels)]
            if max(gaps) > table["tokens"]["rounding_warn"]:
                warnings.append(Finding(code="token_rounding", severity="warning",
                                        message=f"{fl.name}: rounding to whole steps of {tokens_per_step} tokens moves "
                                                f"a level by {max(gaps):.1%}; use a smaller batch for small token "
                                                "counts or accept the realised levels."))
        if len(set(fl.levels)) < fl.num_levels:
            warnings.append(Finding(code="levels_merged", severity="warning",
                                    message=f"{fl.name}: rounding to feasible values merged some levels "
                                            f"({fl.levels}); widen the range or use fewer levels."))
    if inp.scaling_type == "compute_optimal" and {"compute", "parameters"} <= {f.kind for f in out_factors}:
        warnings.append(Finding(code="isoflop_pairs", severity="info",
                                message="The full grid crosses every budget with every size; an isoFLOP design keeps "
                                        "per budget the sizes near the predicted optimum: let "
                                        "design_matrix_construction choose the pairs."))
    if inp.scaling_type == "inference" and any(f.kind in ("parameters", "tokens") for f in out_factors):
        warnings.append(Finding(code="training_axis_in_inference", severity="info",
                                message="Inference studies serve existing checkpoints: use model_size_inference "
                                        "with the sizes you have rather than designed shapes."))


def run(inp: Input) -> Output:
    table = knowledge.load("levels")
    axes = knowledge.load("factors")["axes"]
    shape_defaults = knowledge.defaults()["shape"]
    defaults: list[DefaultUsed] = []
    warnings: list[Finding] = []
    checks: list[Check] = []
    kinds = [_factor_kind(f.name, axes) if f.factor_type == "continuous" else f.factor_type for f in inp.factors]
    for f, kind in zip(inp.factors, kinds):
        if resolve_axis(f.name, axes) is None and f.factor_type == "continuous" and inp.study_kind == "scaling":
            warnings.append(Finding(code="unknown_factor", severity="info",
                                    message=f"{f.name!r} is not a known axis: levels are spaced without rounding. "
                                            f"Known axes: {sorted(axes)}."))
    k_default, reps = _resolve_defaults(inp, table, shape_defaults, defaults, kinds)
    rules = _ShapeRules(inp, table, shape_defaults)
    batch = inp.batch_size if inp.batch_size is not None else table["tokens"]["batch_size"]
    tokens_per_step = batch * rules.seq_len
    out_factors = [_level_factor(f, inp, k_default, kind, rules, tokens_per_step, table)
                   for f, kind in zip(inp.factors, kinds)]
    for fl in out_factors:
        if inp.study_kind == "general":
            general_checks(fl, inp, checks)
            continue
        if fl.factor_type == "continuous":
            _range_checks(fl, table, checks)
        if fl.kind == "parameters":
            _shape_checks(fl, rules, table, checks)

    tpp_default = table["tokens"]["tokens_per_parameter"]
    has_n = any(f.kind == "parameters" for f in out_factors)
    if has_n and inp.fixed_tokens is None and inp.tokens_per_parameter is None and \
            not any(f.kind in ("tokens", "compute") for f in out_factors):
        defaults.append(DefaultUsed(name="tokens_per_parameter", value=tpp_default,
                                    source=table["tokens"]["tokens_per_parameter_source"]))
    pairs = _runs_n_d(inp, _level_map(out_factors), tpp_default)
    tpp = [min(d / n for n, d in pairs), max(d / n for n, d in pairs)] if pairs and has_n else None
    _tpp_check(inp, out_factors, tpp, table, checks)
    _plan_warnings(inp, out_factors, tokens_per_step, table, warnings)

    budget, peak, mfu = _budget(inp, defaults)
    total = int(np.prod([f.num_levels for f in out_factors]))
    cost = None if pairs is None else float(sum(6.0 * n * d for n, d in pairs)) * reps
    if pairs is None and any(f.kind == "compute" for f in out_factors):
        # Compute budgets alone: each budget is spent once per combination of the other factors.
        c_levels = next(f.levels for f in out_factors if f.kind == "compute")
        cost = float(sum(c_levels)) * (total // len(c_levels)) * reps
    hours = None if cost is None else float(gpu_hours(cost, peak, mfu))
    held_cost = _held_out_cost(inp, out_factors, tpp_default)
    compatible = None if cost is None or budget is None else cost <= budget
    _budget_checks(cost, budget, held_cost, compatible, checks, held_out=_extrapolates(inp))
    verdict = max((c.verdict for c in checks), key=_VERDICT_RANK.__getitem__, default="pass")
    return Output(
        scaling_type=inp.scaling_type, factors=out_factors, total_combinations=total, replicates=reps,
        total_runs=total * reps, tokens_per_parameter_range=tpp, estimated_cost_flops=cost, estimated_gpu_hours=hours,
        held_out_cost_flops=held_cost, budget_flops=budget, budget_compatible=compatible, feasibility_check=checks,
        verdict=verdict, defaults_used=defaults, warnings=warnings,
        next_step=_next_step(inp))


def _next_step(inp: Input) -> str:
    if inp.study_kind == "general":
        return ("Call metric_specification and sample_size_estimation with study_kind 'general', then "
                "design_matrix_construction with a classical design (full_factorial; fractional_factorial or "
                "plackett_burman to screen) over these levels, labels included.")
    return ("Call metric_specification, then design_matrix_construction with these levels (use `levels`, not "
            "`target_levels`); run the held-out point separately and keep it out of the fit.")


def input_from_factors(fi_output: Any, **overrides: Any) -> Input:
    """Input for this step from factor_identification's Output (model or dumped dict).

    Takes scaling_type, the independent variables' name/minimum/maximum/unit, the parameter
    counting (active -> non_embedding) and the budget; `overrides` set or replace any Input field
    (e.g. num_levels=8, fixed_tokens=2e10, vocab_size=32000).
    """
    fi = fi_output.model_dump() if isinstance(fi_output, BaseModel) else dict(fi_output)
    factors = []
    for var in fi["independent_variables"]:
        if var.get("minimum") is None or var.get("maximum") is None:
            raise InputError("factors", f"factor {var['name']!r} has no range; give it minimum and maximum "
                                        "(overrides: factors=[...])")
        factors.append({"name": var["name"], "minimum": var["minimum"], "maximum": var["maximum"],
                        "unit": var.get("unit", "")})
    args: dict[str, Any] = {"scaling_type": fi["scaling_type"], "factors": factors}
    counting = next((c["choice"] for c in fi.get("counting_conventions", []) if c["quantity"] == "parameters"), None)
    if counting in ("non_embedding", "total"):
        args["parameter_counting"] = counting
    if fi.get("budget_flops") is not None:
        args["budget_flops"] = fi["budget_flops"]
    args.update(overrides)
    return Input.model_validate(args)
