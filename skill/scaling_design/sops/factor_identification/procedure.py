"""The scaling procedure: axes, counting conventions, ranges capped by the budget, controls, ``run``."""
from __future__ import annotations

import math

from ... import knowledge
from ...errors import InputError
from ...laws.cost import flops_from_gpu_hours
from ..factor_roles import add_standard_controls, resolve_roles, response_traits, restate_hypothesis
from .general import run_general
from .inference import infer_scaling_type, resolve_axis
from .models import (MAX_BUDGET_FLOPS, Axis, Control, Convention, DefaultUsed, Finding, Input, Interaction, Output,
                     Response)


def _parameter_counting(inp: Input, stype: str, table: dict, defaults: list[DefaultUsed],
                        warnings: list[Finding], axes: list[str]) -> Convention:
    choice = inp.parameter_counting
    if choice is None:
        choice = "active" if inp.system == "moe_transformer" else "non_embedding"
        row = table["counting"]["parameters"][choice]
        defaults.append(DefaultUsed(name="parameter_counting", value=choice, source=row["source"]))
        if stype in ("model", "compute_optimal") or "parameters" in axes:
            warnings.append(Finding(
                code="parameter_counting_unspecified", severity="warning",
                message=f"The question does not say how parameters are counted; using {choice} and logging both "
                        "non-embedding and total counts. The choice moves the fitted allocation exponent at small "
                        "scale (Kaplan 0.73 vs Chinchilla 0.50, Pearce & Song 2024): pass parameter_counting to "
                        "fix it, and use total to compare with Hoffmann/Epoch laws."))
    elif choice == "active" and inp.system != "moe_transformer":
        warnings.append(Finding(code="active_counting_dense_model", severity="warning",
                                message="parameter_counting 'active' applies to MoE models; for a dense model it "
                                        "equals non_embedding."))
    row = table["counting"]["parameters"][choice]
    return Convention(quantity="parameters", choice=choice, definition=row["definition"], why=row["why"],
                      source=row["source"])


def _flops_convention(inp: Input, table: dict, defaults: list[DefaultUsed]) -> Convention:
    choice = inp.flops_convention
    if choice is None:
        choice = "6ND"
        defaults.append(DefaultUsed(name="flops_convention", value=choice,
                                    source=table["counting"]["flops"][choice]["source"]))
    row = table["counting"]["flops"][choice]
    return Convention(quantity="flops", choice=choice, definition=row["definition"], why=row["why"],
                      source=row["source"])


def _axes_for(inp: Input, stype: str, table: dict, warnings: list[Finding]) -> list[str]:
    """Catalogue keys (or raw custom names) of the independent variables."""
    if not inp.axes:
        names = list(table["scaling_types"][stype]["independent"])
        if inp.system == "moe_transformer" and "parameters" in names:
            names[names.index("parameters")] = "active_parameters"
            names.append("num_experts")
        return names
    resolved = []
    for raw in inp.axes:
        key = resolve_axis(raw, table["axes"])
        if key is None:
            warnings.append(Finding(
                code="custom_axis", severity="warning",
                message=f"Axis {raw!r} is not in the knowledge table; it is kept as a custom axis without unit or "
                        f"counting rule. Known axes: {sorted(table['axes'])}."))
            key = raw
        if key not in resolved:
            resolved.append(key)
    return resolved


def _axis(name: str, table: dict, counting: Convention, flops: Convention) -> Axis:
    row = table["axes"].get(name)
    if row is None:
        return Axis(name=name, symbol=name, kind="continuous", unit="unspecified", definition="user-defined axis",
                    counting="n/a", why="chosen by the user", minimum=None, maximum=None,
                    range_source="none: give minimum and maximum to level_specification", source="user")
    counting_text = {"parameters": f"{counting.choice} parameters; log both non-embedding and total",
                     "compute": f"{flops.choice}"}.get(row["kind"], "n/a")
    if name == "active_parameters":
        counting_text = "active non-embedding parameters; log total parameters too"
    return Axis(name=name, symbol=row["symbol"], kind=row["kind"], unit=row["unit"], definition=row["definition"],
                counting=counting_text, why=row["why"], minimum=row["suggested_minimum"],
                maximum=row["suggested_maximum"], range_source=row["range_source"], source=row["source"])


def _budget(inp: Input, defaults: list[DefaultUsed]) -> float | None:
    if inp.budget_flops is not None:
        return inp.budget_flops
    if inp.budget_gpu_hours is None:
        return None
    peak, mfu, mfu_source = knowledge.accelerator(inp.hardware, inp.mfu)
    if mfu_source is not None:
        defaults.append(DefaultUsed(name="mfu", value=mfu, source=mfu_source))
    flops = float(flops_from_gpu_hours(inp.budget_gpu_hours, peak, mfu))
    if flops > MAX_BUDGET_FLOPS:  # the steps after price runs in FLOPs, bounded so products like 6ND stay finite
        raise InputError("budget_gpu_hours", f"budget_gpu_hours: {inp.budget_gpu_hours:g} GPU-hours on {inp.hardware} "
                                             f"at mfu {mfu:g} is {flops:.3g} FLOPs, past the {MAX_BUDGET_FLOPS:g} "
                                             f"the steps accept; give at most "
                                             f"{inp.budget_gpu_hours * MAX_BUDGET_FLOPS / flops:.3g} GPU-hours")
    return flops


def _cap_ranges(axes: list[Axis], budget: float | None, stype: str, table: dict,
               warnings: list[Finding]) -> float | None:
    """Cap suggested maxima to what the whole budget can pay for.

    Parameters: the largest model the budget trains at ~20 tokens/parameter, sqrt(C / 120).
    Compute budgets: an isoFLOP budget holds several runs (the Budget Gate's smallest count per
    budget), so the largest budget is at most C / that count.
    """
    if budget is None:
        return None
    tpp = table["budget"]["chinchilla_tokens_per_parameter"]
    n_top = math.sqrt(budget / (6.0 * tpp))
    for axis in axes:
        if axis.kind == "compute" and axis.maximum is not None and stype == "compute_optimal":
            per_budget = knowledge.budget_gate("compute_optimal")["scale_points"][0]
            c_top = budget / per_budget
            if c_top < axis.maximum:
                axis.maximum = c_top
                axis.minimum = min(axis.minimum, c_top / 100.0)
                axis.range_source += f"; capped at budget / {per_budget} runs per isoFLOP budget (Budget Gate) = " \
                                     f"{c_top:.3g} FLOPs, minimum set two decades below"
            continue
        if axis.kind != "parameters" or axis.maximum is None:
            continue
        if n_top < axis.maximum:
            # Never below one decade above the minimum: the range must stay usable, and
            # level_specification's budget check then reports the overrun.
            axis.maximum = max(n_top, axis.minimum * 10.0)
            axis.range_source += f"; maximum capped at sqrt(C/(6*{tpp:g})) = {n_top:.3g}, the largest model the " \
                                 "whole budget trains at the Chinchilla ratio (kept at least one decade above the " \
                                 "minimum)"
        if n_top < axis.minimum * 10.0:
            warnings.append(Finding(
                code="budget_limits_range", severity="warning",
                message=f"The budget ({budget:.3g} FLOPs) trains at most a {n_top:.3g}-parameter model at "
                        f"{tpp:g} tokens/parameter, less than one decade above the {axis.minimum:.3g} minimum for "
                        f"{axis.name}; the suggested range keeps one decade and will exceed the budget: raise the "
                        "budget, train fewer tokens per parameter, or study data scaling instead."))
    return n_top


def _controls(stype: str, table: dict) -> list[Control]:
    out = [Control(name=name, treatment="hold_fixed", value_or_rule=row["value"], why=row["why"], source=row["source"])
           for name, row in table["controls"].items() if stype in row["applies"]]
    out += [Control(name=name, treatment="scale_with_rule", value_or_rule=row["rule"], why=row["why"],
                    source=row["source"])
            for name, row in table["retuned"].items() if stype in row["applies"]]
    return out


def _interactions(stype: str, axes: list[str], system: str, table: dict) -> list[Interaction]:
    out = []
    varied = set(axes)
    for row in table["interactions"].values():
        if stype not in row["applies"] or row.get("system", system) != system:
            continue
        first, second = row["factors"]
        # Keep an interaction when one side is varied; settings like learning_rate are not axes.
        if first in varied or second in varied:
            out.append(Interaction(factors=row["factors"], description=row["description"],
                                   justification=row["justification"], implication=row["implication"],
                                   source=row["source"]))
    return out


def _responses(stype: str, table: dict) -> list[Response]:
    return [Response(name=name, **{k: table["responses"][name][k] for k in ("unit", "definition", "why", "source")})
            for name in table["scaling_types"][stype]["dependent"]]


def _study_warnings(stype: str, axes: list[str], inp: Input, warnings: list[Finding]) -> None:
    if stype == "compute_optimal" and set(axes) == {"parameters"}:
        warnings.append(Finding(code="single_axis_compute_optimal", severity="warning",
                                message="A compute-optimal study needs compute (or tokens) as a second axis: with "
                                        "parameters alone the allocation between N and D cannot be estimated."))
    if len(axes) > 3 and stype != "custom":
        warnings.append(Finding(code="many_axes", severity="warning",
                                message=f"{len(axes)} axes multiply the run count; a scaling study usually varies one "
                                        "or two and holds the rest fixed."))
    if inp.system == "other":
        warnings.append(Finding(code="non_transformer_system", severity="info",
                                message="Counting conventions and shape rules are written for transformers; state "
                                        "how your architecture's size and FLOPs are counted."))


def run(inp: Input) -> Output:
    table = knowledge.load("factors")
    defaults: list[DefaultUsed] = []
    warnings: list[Finding] = []
    if inp.study_kind == "general":
        return run_general(inp, _budget(inp, defaults), defaults)
    if inp.scaling_type is None:
        stype, evidence = infer_scaling_type(inp.question)
        inferred = True
        defaults.append(DefaultUsed(name="scaling_type", value=stype,
                                    source=f"inferred from the question's words {evidence}; "
                                           f"{table['inference_rules']['source']}"))
    else:
        stype, evidence, inferred = inp.scaling_type, [], False
    axis_names = _axes_for(inp, stype, table, warnings)
    if not inp.axes:
        defaults.append(DefaultUsed(name="axes", value=axis_names, source=table["scaling_types"][stype]["source"]))
    counting = _parameter_counting(inp, stype, table, defaults, warnings, axis_names)
    flops = _flops_convention(inp, table, defaults)
    axes = [_axis(name, table, counting, flops) for name in axis_names]
    budget = _budget(inp, defaults)
    n_top = _cap_ranges(axes, budget, stype, table, warnings)
    _study_warnings(stype, axis_names, inp, warnings)
    responses = [r.model_copy(update=dict(zip(("type", "direction"), response_traits(r.name))))
                 for r in _responses(stype, table)]
    controls = resolve_roles(axes, add_standard_controls(_controls(stype, table), Control), warnings, Finding)
    return Output(
        hypothesis=restate_hypothesis(inp.question, stype, axis_names, [r.name for r in responses]),
        prior_work=[w.strip()[:300] for w in inp.prior_work],
        scaling_type=stype, scaling_type_inferred=inferred, scaling_type_evidence=evidence,
        study_summary=table["scaling_types"][stype]["summary"], system=inp.system,
        independent_variables=axes, dependent_variables=responses, control_variables=controls,
        potential_interactions=_interactions(stype, axis_names, inp.system, table),
        counting_conventions=[counting, flops], budget_flops=budget, largest_compute_optimal_parameters=n_top,
        defaults_used=defaults, warnings=warnings,
        next_step="Call level_specification with scaling_type and factors = [{name, minimum, maximum, unit} for each "
                  "independent variable] (scaling_design.sops.level_specification.input_from_factors does this), "
                  "then metric_specification.")
