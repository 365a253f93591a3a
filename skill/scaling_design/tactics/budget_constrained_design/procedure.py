"""budget_constrained_design.run: the steps in order."""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ... import knowledge
from ..design_stress import regime_warnings, stress_check, stress_warnings
from ..sequential_design import MIN_RUNS_TO_REFIT, disagreement, refit_completed, selected_family
from ...errors import InputError
from ...laws.cost import flops_from_gpu_hours, gpu_hours
from ...laws.optimal_design import (cheapest_first, greedy_select, information_matrix, response_rows, target_gradient,
                                    thinned_grid)
from ...sops.design_matrix_construction import NamedValue, StepWarning, to_csv
from .checks import (_classical, _comparison, _comparison_warnings, _gate, _mc_errors, _pool_exhausted, _run_rows,
                     _target_warnings)
from .plan_rules import cut_order, gpu_hours_of_budget, stopping_rules, wall_clock_warning
from .models import STRESS_SHARE, STRESS_SIMS, BudgetSummary, Input, MonteCarloSummary, Output
from .setup import _Law, _choose_law, _noise, _pool, _prior, _target


def run(inp: Input, progress: Callable[[float, float, str], None] | None = None) -> Output:
    warnings: list[StepWarning] = []
    defaults: list[NamedValue] = []
    peak, mfu, mfu_source = knowledge.accelerator(inp.hardware, inp.mfu)
    if mfu_source is not None:
        defaults.append(NamedValue(name="mfu", value=mfu, source=mfu_source))
    joint, source = _prior(inp, defaults)
    noise = _noise(inp, defaults)

    X, flops, levels = _pool(inp, defaults)
    if inp.budget_unit == "runs":
        unit_costs, budget_cost, budget_flops = np.ones(len(X)), float(inp.budget), None
    else:
        budget_flops = float(inp.budget if inp.budget_unit == "flops" else flops_from_gpu_hours(
            gpu_hours_of_budget(inp.budget, inp.budget_unit, inp.usd_per_gpu_hour, inp.n_gpus), peak, mfu))
        unit_costs, budget_cost = flops, budget_flops
    budget_hours = float(gpu_hours(budget_flops, peak, mfu)) if budget_flops else None
    budget = BudgetSummary(given=inp.budget, unit=inp.budget_unit, flops=budget_flops, gpu_hours=budget_hours,
                           usd=budget_hours * inp.usd_per_gpu_hour if budget_hours and inp.usd_per_gpu_hour else None,
                           wall_clock_hours=budget_hours / inp.n_gpus if budget_hours and inp.n_gpus else None,
                           hardware=inp.hardware, peak_flops=peak, mfu=mfu)

    # sequential mode: the runs already done inform the design (and the prior, once there are enough)
    done_X = np.array([[r.N, r.D] for r in inp.completed_runs], float).reshape(-1, 2)
    law = _choose_law(inp, joint, source, X, done_X)
    form, params, source = law.form, law.params, law.source
    prior_law, refit, family = law, None, None
    if len(inp.completed_runs) >= MIN_RUNS_TO_REFIT and inp.refit_prior:
        y = np.array([r.loss for r in inp.completed_runs])
        refit = refit_completed(form, law.X(done_X), y, warnings, "completed_runs")
        if refit is not None:
            params, source = refit.params, f"fit of the {len(y)} completed runs (huber-log), replacing {source}"
            law = _Law(form, params, source, law.axis, law.fixed)
            if form.name == "chinchilla" and inp.hedge:
                family = selected_family(done_X, y, warnings)
    elif inp.completed_runs and inp.refit_prior:
        warnings.append(StepWarning(code="prior_kept", severity="info",
                                    message=f"{len(inp.completed_runs)} completed runs (< {MIN_RUNS_TO_REFIT}) are too "
                                            "few to refit the law; the design stays at the prior"))
    if len(done_X) and inp.max_repeats == 1:  # a candidate already run is not a new setting
        fresh = ~np.array([np.any(np.all(np.isclose(x, done_X, rtol=1e-9), axis=1)) for x in X])
        X, flops, levels, unit_costs = X[fresh], flops[fresh], levels[fresh], unit_costs[fresh]
    if len(X) == 0:
        raise InputError("candidates", "the candidate pool is empty (every candidate was already run): give new "
                                       "`candidates` or widen n_min..n_max")

    target_info, target_fn, target_names, Xt = _target(inp, law)
    _target_warnings(Xt, X, warnings)
    if refit is not None:
        disagreement(prior_law.form, prior_law.params, refit, law.X(Xt), warnings)
    verdict = _gate(inp, flops, budget_cost, unit_costs, peak, mfu)
    classical = _classical(inp, budget_cost, unit_costs, flops)

    rows = response_rows(form, params, law.X(X), noise.sd_of_loss)
    done_M = information_matrix(response_rows(form, params, law.X(done_X), noise.sd_of_loss)) if len(done_X) else \
        np.zeros((rows.shape[1],) * 2)
    G = target_gradient(form, params, target_fn)
    t0 = time.perf_counter()
    if inp.hedge and form.name == "chinchilla" and target_info["quantity"] == "loss":
        from ..hedged_selection import hedged_select
        sel = hedged_select(params, law.X(X), law.X(Xt), unit_costs, budget_cost, noise.sd_of_loss, law.X(done_X),
                            inp.max_repeats, extra=[family] if family else [])
    else:
        sel = greedy_select(rows, unit_costs, G, budget_cost, prior_information=done_M, max_repeats=inp.max_repeats)
    elapsed = time.perf_counter() - t0
    idx = np.sort(sel.indices, kind="stable")
    idx = idx[np.argsort(flops[idx], kind="stable")]
    if not sel.full_rank:
        warnings.append(StepWarning(code="design_not_identifiable", severity="warning",
                                    message=f"the chosen runs cannot identify all {form.n_params} parameters of "
                                            f"the law ({form.equation}): too few runs or distinct settings; raise "
                                            "the budget or use cheaper candidates"))

    if sel.counts.sum() == len(X) * inp.max_repeats:
        warnings.append(StepWarning(code="budget_exceeds_pool", severity="info",
                                    message=_pool_exhausted(inp.max_repeats, bool(inp.candidates))))
    designs = [("selected", idx)]
    if inp.compare_naive:
        designs += [("thinned_grid", thinned_grid(levels, unit_costs, budget_cost)),
                    ("cheapest_first", cheapest_first(unit_costs, budget_cost))]
    mc_results: dict[str, Any] = {}
    mc_summary = None
    stressed = inp.monte_carlo_sims > 0 and len(idx) > 0 and form.name == "chinchilla" and \
        target_info["quantity"] == "loss"
    mc_limit = inp.time_limit_s * (1 - STRESS_SHARE if stressed else 1.0)
    if inp.monte_carlo_sims > 0 and len(idx):
        start = time.perf_counter()
        truncated = False
        runnable = [(n, i) for n, i in designs if len(i) + len(done_X) >= form.n_params]
        for k, (name, design_idx) in enumerate(runnable):
            left = mc_limit - (time.perf_counter() - start)
            if left <= 0:
                truncated = True
                break
            Xd = law.X(np.vstack([done_X, X[design_idx]]))
            prog = None if progress is None else (lambda d, t, m, k=k, name=name: progress(
                k * inp.monte_carlo_sims + d, len(runnable) * inp.monte_carlo_sims, f"{name}: {m}"))
            err, conv, trunc, est = _mc_errors(form, params, Xd, target_fn, inp, noise, left / (len(runnable) - k),
                                               inp.seed, prog)
            truncated |= trunc
            mc_results[name] = (err, conv, est)
        mc_summary = MonteCarloSummary(
            n_requested=inp.monte_carlo_sims, truncated=truncated, elapsed_s=time.perf_counter() - start,
            seed=inp.seed, objective="huber-log (delta 1e-3), the package's fitter",
            note="each design's losses simulated from the prior law plus the noise model"
                 + (" (completed runs simulated too)" if len(done_X) else "") + ", then refitted")
        if truncated:
            warnings.append(StepWarning(code="monte_carlo_truncated", severity="warning",
                                        message=f"the Monte Carlo check hit its {inp.time_limit_s:g} s bound; fewer "
                                                "simulations than asked back the figures"))
    comparisons = [_comparison(n, i, X, flops, budget_flops, unit_costs, budget_cost, rows, G, done_M,
                               mc_results.get(n)) for n, i in designs]
    _comparison_warnings(comparisons, warnings)
    regime_warnings(X[idx], Xt, warnings)
    stress = None
    if stressed:
        stress = stress_check(params, X, Xt, unit_costs, budget_cost, designs[:1], noise,
                              min(inp.monte_carlo_sims, STRESS_SIMS), inp.time_limit_s * STRESS_SHARE, inp.seed,
                              done_X)
        stress_warnings(stress, warnings)

    run_rows = _run_rows(X, flops, idx, inp.seed, peak, mfu)
    if inp.budget_unit == "wall_clock_hours":
        wall_clock_warning(np.array([r["gpu_hours"] for r in run_rows]), inp.budget, inp.n_gpus, warnings)
    cuts = cut_order(rows, sel.counts, idx, [r["run_id"] for r in run_rows], unit_costs, flops, G, done_M)
    cols = ["run_id", "N", "D", "C", "tokens_per_param", "seed", "gpu_hours"]
    var_each = sel.variances
    per_target = {n: (float(np.sqrt(v)) if np.isfinite(v) else None) for n, v in zip(target_names, var_each)}
    total_var = float(np.sum(var_each))
    return Output(
        verdict=verdict, budget=budget, classical_choice=classical, target=target_info,
        prior={"params": params, "source": source, "form": form.equation,
               "axis": law.axis or "N and D", "fixed": law.fixed}, noise={
            "kind": noise.kind, "sigma": noise.sigma, "ref_loss": noise.ref_loss, "power": noise.power},
        n_candidates=int(len(X)), selection_rule=sel.rule, selection_elapsed_s=elapsed, identifiable=sel.full_rank,
        runs=run_rows, csv=to_csv(run_rows, cols),
        results_template_csv=to_csv([dict(r, loss=None) for r in run_rows], cols + ["loss"]),
        total_cost_flops=float(flops[idx].sum()), total_gpu_hours=float(gpu_hours(flops[idx].sum(), peak, mfu)),
        predicted_sd=_sd(total_var),
        predicted_sd_per_target=per_target, comparisons=comparisons, monte_carlo=mc_summary, stress_check=stress,
        truncated=bool((mc_summary is not None and mc_summary.truncated) or (stress is not None and stress.truncated)),
        cut_order=cuts, stopping_rules=stopping_rules(len(idx), "space-filling" in sel.rule, _sd(total_var),
                                                      target_info["quantity"]),
        next_step=("run the chosen runs, fill `loss` in the results template and call fit_scaling_law; to add runs "
                   "later, call budget_constrained_design again with them as `completed_runs`"),
        defaults_used=defaults, warnings=warnings)


DESCRIPTION = """
Choose which runs to do under a budget (FLOPs, GPU-hours, a number of runs, money or wall-clock hours), and say what
precision they buy, in which order to cut them if the budget shrinks, and when to stop.

Use after design_matrix_construction (pass its runs as `candidates`, or let the tool build a geometric pool of
N x tokens-per-parameter) when the full grid is too expensive. Returns the seed's Budget Gate verdict (pass,
below_gate, unaffordable, with what a minimally valid design would cost), the classical design family the
budget affords (max runs = budget / cost per run), and, for scaling studies, the runs that most reduce the
uncertainty of the target (loss at target_N/target_D, N_opt at target_compute, or the exponents) per unit cost:
a locally optimal design at the prior law (default the Epoch refit of Chinchilla; for a pool that varies only N
or only D, its one-axis form L = E' + A x^-alpha at the fixed resource) with the Epoch noise level.
Reports the predicted precision, a Monte Carlo check with the real fitter (switch off with
monte_carlo_sims: 0), and a comparison with an evenly thinned grid and cheapest-first runs of the same budget.
For a loss target the design hedges across law families (hedge) and a stress check simulates laws it did not
assume, comparing the selection with random picks of the same cost (random_design_better when they win).
Sequential mode: pass `completed_runs` (with losses) to get the next runs; the family is then chosen from them by
rolling extrapolation. Next: run them, then fit_scaling_law (form auto).
"""

EXAMPLE: dict[str, Any] = {
    "budget": 5e20,
    "budget_unit": "flops",
    "scaling_type": "compute_optimal",
    "target": "loss",
    "target_N": 7e10,
    "target_D": 1.4e12,
    "n_min": 2e7,
    "n_max": 1e9,
    "monte_carlo_sims": 50,
    "seed": 0,
}


def _sd(variance: float) -> float | None:
    return float(np.sqrt(variance)) if np.isfinite(variance) else None
