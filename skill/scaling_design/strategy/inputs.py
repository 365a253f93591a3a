"""Each step's Input, built from the outputs of the steps before it."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .. import knowledge
from ..errors import InputError
from ..sops import design_matrix_construction as dmc
from ..sops import factor_identification as fi
from ..sops import level_specification as ls
from ..sops import metric_specification as ms
from ..sops import sample_size_estimation as sse
from ..tactics import budget_constrained_design as bcd
from .models import PARAMS, TOKENS_PER_PARAMETER_SOURCE, Input


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
    """The kind (or, for inference, the name) of the axis a study sweeps."""
    return {"model": "parameters", "data": "tokens", "compute_optimal": "compute", "inference": "batch_size"}[
        scaling_type]


def main_factor(scaling_type: str, ls_out: ls.Output):
    """level_specification's factor for the swept axis, found by kind: an MoE's active_parameters are its N."""
    main = _main_axis(scaling_type)
    return next((f for f in ls_out.factors if f.kind == main or f.name == main), None)


def held_axes(scaling_type: str, ls_out: ls.Output) -> dict[str, float]:
    """Axes a one-axis sweep does not vary (an MoE model study's num_experts), each at its middle level.
    Empty when the study has only its scale axis."""
    swept = main_factor(scaling_type, ls_out) if scaling_type in ("model", "data") else None
    if swept is None:
        return {}
    return {f.name: float(f.levels[(len(f.levels) - 1) // 2]) for f in ls_out.factors
            if f.name != swept.name and f.levels}


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
    if n_max is None:  # e.g. a mixture of experts, whose axes are active and total parameters
        raise InputError("fixed_tokens", "this model study has no `parameters` axis to size its data from: give "
                                         "fixed_tokens (training tokens of every model, e.g. 2e10) or scale_max")
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
        held = d_max * (d_max / d_min) ** (1.0 / (k - 1))  # the validation run, one step past the top level
        affordable = fi_out.budget_flops / (6.0 * (tokens * replicates + held))
        if affordable < params:
            if affordable < PARAMS[0]:  # refused before any simulation, by the caller's budget field
                field = "budget_flops" if inp.budget_flops is not None else "budget_gpu_hours"
                raise InputError(field, f"{field}: the budget ({fi_out.budget_flops:.3g} FLOPs) trains at most a "
                                        f"{affordable:.3g}-parameter model over this sweep ({k} token levels "
                                        f"{d_min:.3g}-{d_max:.3g}, {replicates} replicates), below the {PARAMS[0]:g} "
                                        f"accepted; raise {field}, lower scale_max or give fixed_parameters")
            params = affordable
            source = (f"the largest model whose sweep ({k} geometric token levels {d_min:.3g}-{d_max:.3g}, "
                      f"{replicates} replicates, C = 6ND) fits the budget; smaller than the Chinchilla-optimal "
                      f"{d_max / 20.0:.3g} for the largest level")
    _default(defaults, "fixed_parameters", params, source)
    return params


def _refuse_one_sided(inp: Input, row: dict[str, Any]) -> None:
    """One end given, the other suggested: an empty range is the given end's to fix."""
    if row["minimum"] is None or row["maximum"] is None or row["minimum"] < row["maximum"]:
        return
    if inp.scale_max is None:
        raise InputError("scale_min", f"scale_min: {inp.scale_min:g} is not below the suggested (budget-capped) "
                                      f"maximum {row['maximum']:.3g} of {row['name']}; lower it or give scale_max too")
    raise InputError("scale_max", f"scale_max: {inp.scale_max:g} is not above the suggested minimum "
                                  f"{row['minimum']:.3g} of {row['name']}; raise it or give scale_min too")


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
                _refuse_one_sided(inp, row)
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
        # the swept axis as level_specification gave it (the design step maps parameters/tokens to N/D);
        # any other axis (an MoE's num_experts) is held at its middle level: see held_axes
        others = held_axes(scaling_type, ls_out)
        factors = [f.model_dump(mode="json") for f in ls_out.factors if f.name not in others]
        held = {"D": fixed["D"]} if scaling_type == "model" else {"N": fixed["N"]}
        return dmc.Input(design="one_axis_sweep", factors=factors, fixed={**held, **others}, **common)
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
    factor = main_factor(scaling_type, ls_out)
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
    # inference: the precision of each cell's median that the gate's replicates buy, from the replicate spread
    cells = len(_distinct_points(dm_out.runs, ("batch_size", "seq_len", "N")))
    return sse.Input(design_type="replicate_precision", runs_per_group=max(gate_reps, 2), n_cells=max(cells, 1),
                     target_relative_error=inp.target_relative_error)


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
                  target: float, replicates: int, time_left_s: float, reserve_flops: float = 0.0) -> bcd.Input:
    settings = {}
    for r in dm_out.runs:
        settings.setdefault((float(r["N"]), float(r["D"])), float(r["C"]))
    candidates = [{"N": n, "D": d, "cost_flops": c} for (n, d), c in settings.items()]
    budget = fi_out.budget_flops if fi_out.budget_flops is not None else dm_out.cost.total_flops
    if reserve_flops and budget > reserve_flops:  # the validation runs are bought first, outside the selection
        budget -= reserve_flops
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
