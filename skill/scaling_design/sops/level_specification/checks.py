"""Feasibility checks with verdicts: range, shapes, tokens per parameter, budget, held-out point."""
from __future__ import annotations

from ... import knowledge
from .models import Check, FactorLevels, Input
from .shapes import _ShapeRules


# --------------------------------------------------------------------------------------------
# Checks

def _check(checks: list[Check], name: str, factor: str | None, verdict: str, detail: str, source: str) -> None:
    checks.append(Check(check=name, factor=factor, verdict=verdict, detail=detail, source=source))


def _range_checks(fl: FactorLevels, table: dict, checks: list[Check]) -> None:
    dec, pts = table["decades"], table["points"]
    # Realised levels may sit a rounding step inside the requested range: allow that slack.
    covered = fl.decades_covered + dec["rounding_slack"]
    verdict = "fail" if covered < dec["minimum"] else "warn" if covered < dec["preferred"] else "pass"
    _check(checks, "decades_covered", fl.name, verdict,
           f"{fl.decades_covered:.3g} decades (minimum {dec['minimum']:g}, preferred {dec['preferred']:g})"
           + ("; widen the range: less than one decade cannot pin an exponent" if verdict == "fail" else ""),
           dec["source"])
    distinct = len(set(fl.levels))
    verdict = "fail" if distinct < pts["minimum"] else "warn" if distinct < pts["preferred"] else "pass"
    _check(checks, "num_points", fl.name, verdict,
           f"{distinct} distinct levels (minimum {pts['minimum']}, preferred {pts['preferred']}-8)"
           + (f"; rounding merged {fl.num_levels - distinct} levels" if distinct < fl.num_levels else ""),
           pts["source"])
    thresholds = table["smallest_scale"]
    if fl.kind in thresholds:
        row = thresholds[fl.kind]
        smallest = fl.target_levels[0]
        verdict = "pass" if smallest >= row["minimum"] else "warn"
        _check(checks, "smallest_scale", fl.name, verdict,
               f"smallest level {smallest:.3g} vs threshold {row['minimum']:.3g} {fl.unit}".rstrip()
               + ("" if verdict == "pass" else "; points below it may bend off the power law: drop them from the "
                                                "fit or raise the minimum"), row["source"])


def _shape_checks(fl: FactorLevels, rules: _ShapeRules, table: dict, checks: list[Check]) -> None:
    bad = [s for s in fl.shapes if not (s.within_tolerance and s.aspect_in_band)]
    worst = max(abs(s.relative_error) for s in fl.shapes)
    if bad:
        detail = "; ".join(f"target {s.target_params:.3g}: nearest shape L={s.n_layer} d={s.d_model} counts "
                           f"{s.counted_params:.4g} ({s.relative_error:+.1%}), aspect {s.aspect_ratio:.3g}"
                           for s in bad)
        hint = (" With total counting the embedding (vocab x d_model) dominates small models: use "
                "parameter_counting 'non_embedding', a smaller vocabulary, or a larger minimum."
                if rules.counting == "total" else " Widen the aspect-ratio band or move the level.")
        _check(checks, "shape_feasible", fl.name, "fail", detail + "." + hint, table["shape"]["tolerance_source"])
    else:
        _check(checks, "shape_feasible", fl.name, "pass",
               f"every level has a shape within {rules.tol:.0%} of its target (worst {worst:.2%}) with d_model/n_layer "
               f"in [{rules.band[0]:g}, {rules.band[1]:g}]", table["shape"]["tolerance_source"])
    share = fl.shapes[0].embedding_share
    limit = table["shape"]["embedding_share_warn"]
    if share > limit:
        _check(checks, "embedding_share", fl.name, "warn",
               f"embeddings are {share:.0%} of the smallest model's total parameters: the counting convention "
               "changes the fitted exponent here; fit with both counts and report both",
               table["shape"]["embedding_share_source"])


def _tpp_check(inp: Input, out_factors: list[FactorLevels], tpp: list[float] | None, table: dict,
               checks: list[Check]) -> None:
    if inp.scaling_type != "compute_optimal":
        return
    row = table["compute_optimal"]
    if tpp is None:
        _check(checks, "tokens_per_parameter_varied", None, "warn",
               "the plan does not fix both N and D, so tokens per parameter cannot be checked; give parameters with "
               "compute or tokens", row["source"])
        return
    spread = tpp[1] / tpp[0]
    verdict = "fail" if spread <= row["tokens_per_parameter_spread_fixed"] else \
        "warn" if spread < row["tokens_per_parameter_spread_pass"] else "pass"
    _check(checks, "tokens_per_parameter_varied", None, verdict,
           f"D/N spans {tpp[0]:.3g} to {tpp[1]:.3g} ({spread:.3g}-fold; pass at >= "
           f"{row['tokens_per_parameter_spread_pass']:g})"
           + ("; a fixed ratio cannot separate the model exponent from the data exponent" if verdict == "fail"
              else ""), row["source"])


def _held_out_cost(inp: Input, out_factors: list[FactorLevels], tpp_default: float) -> float | None:
    """FLOPs of one run at the held-out point of the main training axis."""
    by_kind = {f.kind: f for f in out_factors}
    if "compute" in by_kind:
        return by_kind["compute"].held_out_level
    if "parameters" in by_kind:
        n = by_kind["parameters"].held_out_level
        if n is None:  # no level held out (e.g. custom levels): no held-out cost to state
            return None
        if "tokens" in by_kind:
            return 6.0 * n * by_kind["tokens"].levels[-1]
        d = inp.fixed_tokens if inp.fixed_tokens is not None else \
            (inp.tokens_per_parameter if inp.tokens_per_parameter is not None else tpp_default) * n
        return 6.0 * n * d
    if "tokens" in by_kind and inp.fixed_parameters is not None:
        return 6.0 * inp.fixed_parameters * by_kind["tokens"].held_out_level
    return None


def _budget_checks(cost: float | None, budget: float | None, held_cost: float | None, compatible: bool | None,
                   checks: list[Check], held_out: bool = True) -> None:
    held_source = knowledge.load("levels")["held_out"]["source"]
    if compatible is not None:
        _check(checks, "budget", None, "pass" if compatible else "fail",
               f"plan costs {cost:.3g} FLOPs against a budget of {budget:.3g} ({cost / budget:.1%})"
               + ("" if compatible else ": fewer levels, a lower maximum, or budget_constrained_design to choose "
                                        "runs"), "C = 6 N D (Kaplan et al. 2020)")
    if not held_out:  # a general study extrapolates nothing
        return
    if held_cost is None:
        _check(checks, "held_out_point", None, "warn",
               "held-out point suggested per factor, but its cost is unknown (give fixed_tokens, fixed_parameters or "
               "a budget axis)", held_source)
    elif budget is None or cost is None:
        _check(checks, "held_out_point", None, "pass",
               f"run the held_out_level of each factor once more and keep it out of the fit (one run costs "
               f"{held_cost:.3g} FLOPs)", held_source)
    else:
        fits = cost + held_cost <= budget
        _check(checks, "held_out_point", None, "pass" if fits else "warn",
               f"held-out run costs {held_cost:.3g} FLOPs; plan plus held-out point "
               f"{'fits' if fits else 'exceeds'} the budget"
               + ("" if fits else ": hold out the largest planned level instead and fit on the rest"), held_source)
