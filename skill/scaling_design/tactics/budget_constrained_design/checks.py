"""The Budget Gate, the classical design choice, the Monte Carlo check and the comparison rows."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import knowledge
from ...laws.cost import gpu_hours
from ...laws.optimal_design import cheapest_first, information_matrix, target_variance
from ...laws.simulate import NoiseModel, monte_carlo
from ...sops.design_matrix_construction import StepWarning, distinct_seeds
from .models import FAR_EXTRAPOLATION, MAX_REPEATS, ClassicalChoice, DesignComparison, Input, Verdict


def _gate(inp: Input, flops: np.ndarray, budget_cost: float, unit_costs: np.ndarray, peak: float,
          mfu: float) -> Verdict:
    gate = knowledge.budget_gate(inp.scaling_type)
    lo = lambda v: int(v[0] if isinstance(v, list) else v)  # noqa: E731
    min_runs = lo(gate["min_runs"])
    # runs, not settings: each candidate may be run up to max_repeats times, as the selection allows
    reps = inp.max_repeats
    affordable = int(cheapest_first(np.repeat(unit_costs, reps), budget_cost).size)
    pool_runs = len(flops) * reps
    cheapest = np.sort(np.repeat(flops, reps))[:min_runs]
    need_flops = float(cheapest.sum()) if pool_runs >= min_runs else None
    need_hours = float(gpu_hours(need_flops, peak, mfu)) if need_flops is not None else None
    unit = inp.budget_unit
    take = None
    if need_flops is not None:
        take = (f"{min_runs} runs: at least {need_flops:.4g} FLOPs ({need_hours:.4g} GPU-hours on {inp.hardware} at "
                f"MFU {mfu:g}) for the cheapest {min_runs} candidates" if unit != "runs" else f"{min_runs} runs")
    else:
        more = " or raise max_repeats" if reps < MAX_REPEATS else ""
        take = (f"{min_runs} runs, but the pool holds only {pool_runs} ({len(flops)} candidate settings x {reps} "
                f"repeat{'s' if reps > 1 else ''}): widen the candidate pool{more}")
    if affordable == 0:
        status, msg = "unaffordable", (f"the budget buys no run: the cheapest candidate costs "
                                       f"{unit_costs.min():.4g} {unit} against a budget of {inp.budget:.4g} {unit}")
    elif affordable < min_runs:
        way_out = ("widen the candidate pool" + (" or raise max_repeats" if reps < MAX_REPEATS else "")
                   if affordable == pool_runs else "raise the budget or shrink the candidate sizes")
        status, msg = "below_gate", (f"the budget buys at most {affordable} runs; the Budget Gate for "
                                     f"{inp.scaling_type.replace('_', '-')} studies asks at least {min_runs}: the fit "
                                     f"will be fragile; {way_out}")
    else:
        status, msg, take = "pass", f"the budget buys up to {affordable} runs, meeting the gate's {min_runs}", None
    return Verdict(status=status, message=msg, gate=gate, affordable_runs=affordable, min_runs_needed=min_runs,
                   cost_of_minimum_flops=need_flops, cost_of_minimum_gpu_hours=need_hours, what_it_would_take=take)


def _classical(inp: Input, budget_cost: float, unit_costs: np.ndarray, flops: np.ndarray) -> ClassicalChoice:
    table = knowledge.load("designs")["choice_by_runs"]
    per_run = float(np.median(unit_costs))
    max_runs = int(np.floor(budget_cost / per_run * (1 + 1e-12)))
    row = next(r for r in table["rows"] if r["min_runs"] <= max_runs < r["max_runs"])
    return ClassicalChoice(max_runs=max_runs, cost_per_run_flops=float(np.median(flops)), design=row["design"],
                           tool_designs=row["tool_designs"], rationale=row["rationale"], source=table["source"])


def _mc_errors(form, truth, X, target_fn, inp: Input, noise: NoiseModel, time_s: float, seed: int,
               progress) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
    """Refit simulated studies; return |target error| per sim, converged flags, truncation, estimates."""
    res = monte_carlo(form, truth, X, noise=noise, n_sims=inp.monte_carlo_sims, seed=seed, time_limit_s=time_s,
                      progress=progress)
    t0 = np.atleast_1d(target_fn(form.as_array(truth)))
    est = np.array([_safe_target(target_fn, v, t0.shape) for v in res.values]).reshape(-1, t0.size)
    err = np.sqrt(np.sum((est - t0) ** 2, axis=1))
    return err, res.converged, res.truncated, est


def _safe_target(target_fn, values: np.ndarray, shape) -> np.ndarray:
    """The target at one refit; NaN when the refit has no such value (e.g. a non-positive exponent for N_opt)."""
    if not np.all(np.isfinite(values)):
        return np.full(shape, np.nan)
    try:
        with np.errstate(all="ignore"):
            return np.atleast_1d(target_fn(values)).astype(float)
    except ValueError:
        return np.full(shape, np.nan)


def _comparison(name, idx, X, flops, budget_flops, unit_costs, budget_cost, rows, G, done_M, mc) -> DesignComparison:
    counts = np.bincount(idx, minlength=len(X)) if len(idx) else np.zeros(len(X), int)
    var, _ = target_variance(done_M + information_matrix(rows, counts), G)
    total = float(np.sum(var))
    err, conv, est = mc if mc is not None else (None, None, None)
    ok = err[np.isfinite(err)] if err is not None else None
    return DesignComparison(
        name=name, n_runs=int(len(idx)), cost_flops=float(flops[idx].sum()),
        fraction_of_budget=float(unit_costs[idx].sum() / budget_cost),
        distinct_N=int(np.unique(X[idx, 0]).size), max_N=float(X[idx, 0].max()) if len(idx) else None,
        predicted_sd=float(np.sqrt(total)) if np.isfinite(total) else None,
        mc_median_abs_error=float(np.median(ok)) if ok is not None and ok.size else None,
        mc_p90_abs_error=float(np.quantile(ok, 0.9)) if ok is not None and ok.size else None,
        mc_sd=float(np.sqrt(np.sum(np.nanvar(est, axis=0)))) if est is not None and ok.size > 1 else None,
        mc_converged_fraction=float(np.mean(conv)) if conv is not None and len(conv) else None,
        mc_sims=int(len(err)) if err is not None else 0)


def _pool_exhausted(max_repeats: int, given_pool: bool) -> str:
    """What to do when the budget buys every candidate run, given the repeats already allowed."""
    bought = "every candidate" + (f" {max_repeats} times (max_repeats)" if max_repeats > 1 else "")
    widen = ("widen the pool (more or larger `candidates`)" if given_pool else
             "widen the pool (larger n_max, more tokens-per-parameter ratios)")
    if max_repeats >= MAX_REPEATS:
        return f"the budget buys {bought}: {widen}"
    more = "allow max_repeats > 1" if max_repeats == 1 else f"allow max_repeats above {max_repeats}"
    return f"the budget buys {bought}: {widen} or {more}"


def _run_rows(X, flops, idx, seed, peak, mfu) -> list[dict[str, Any]]:
    seeds = distinct_seeds(np.random.default_rng(seed), len(idx))
    return [{"run_id": f"r{k + 1:04d}", "N": float(X[i, 0]), "D": float(X[i, 1]), "C": float(flops[i]),
             "tokens_per_param": float(X[i, 1] / X[i, 0]), "seed": int(s),
             "gpu_hours": float(gpu_hours(flops[i], peak, mfu))} for k, (i, s) in enumerate(zip(idx, seeds))]


def _target_warnings(Xt: np.ndarray, X: np.ndarray, warnings: list[StepWarning]) -> None:
    if not len(Xt):
        return
    far = Xt[0] / X.max(axis=0)
    if np.any(far > FAR_EXTRAPOLATION):
        warnings.append(StepWarning(code="extrapolation_far", severity="warning",
                                    message=f"the target lies {far.max():.3g}x beyond the largest candidate (N or D); "
                                            "the prediction rests on the law holding over that range"))


def _comparison_warnings(comparisons: list[DesignComparison], warnings: list[StepWarning]) -> None:
    sel = comparisons[0]
    for other in comparisons[1:]:
        if (sel.mc_median_abs_error is not None and other.mc_median_abs_error is not None
                and other.mc_median_abs_error < sel.mc_median_abs_error):
            warnings.append(StepWarning(code="naive_design_better", severity="warning",
                                        message=f"in the Monte Carlo check the {other.name} design had a lower median "
                                                f"error ({other.mc_median_abs_error:.3g} vs "
                                                f"{sel.mc_median_abs_error:.3g}): the local linearisation misleads "
                                                "here; prefer the naive design or widen the pool"))
