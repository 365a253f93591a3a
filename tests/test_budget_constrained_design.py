"""budget_constrained_design: gate verdicts, V-optimal selection checked by Monte Carlo, sequential mode, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from scaling_design import knowledge, report
from scaling_design.errors import InputError
from scaling_design.laws import get_form
from scaling_design.tactics.budget_constrained_design import EXAMPLE, MAX_CANDIDATES, MAX_SIMULATIONS, Input, run

FAST = dict(EXAMPLE, monte_carlo_sims=0)


def test_at_equal_cost_the_selected_design_extrapolates_better_than_the_evenly_thinned_grid():
    # Synthetic truth: the Epoch joint law; noise: the Epoch residual level (log sd 0.0075).
    out = run(Input(**dict(EXAMPLE, monte_carlo_sims=40, seed=11)))
    by = {c.name: c for c in out.comparisons}
    sel, thin = by["selected"], by["thinned_grid"]
    assert sel.cost_flops <= out.budget.flops and thin.cost_flops <= out.budget.flops
    assert sel.mc_sims == 40 and thin.mc_sims == 40
    assert sel.mc_median_abs_error < thin.mc_median_abs_error
    assert sel.predicted_sd < thin.predicted_sd
    # the linearised prediction is an honest guide to the Monte Carlo spread
    assert 0.5 < sel.mc_sd / sel.predicted_sd < 2.0
    # the thinned grid spends less than the budget: at exactly its spend the selection still wins
    same = run(Input(**dict(EXAMPLE, budget=thin.cost_flops, monte_carlo_sims=40, seed=11, compare_naive=False)))
    assert same.total_cost_flops <= thin.cost_flops
    assert same.comparisons[0].mc_median_abs_error < thin.mc_median_abs_error


def test_a_budget_below_the_cheapest_run_is_unaffordable_and_says_what_it_would_take():
    out = run(Input(**dict(FAST, budget=1e15)))
    assert out.verdict.status == "unaffordable"
    assert "cheapest candidate costs" in out.verdict.message
    assert out.verdict.what_it_would_take and out.verdict.cost_of_minimum_flops > 1e15
    assert out.runs == []


def test_a_budget_for_fewer_runs_than_the_gate_is_below_gate():
    cheapest = 6 * 2e7 * 2 * 2e7
    out = run(Input(**dict(FAST, budget=5 * cheapest)))
    gate = knowledge.budget_gate("compute_optimal")
    assert out.verdict.status == "below_gate"
    assert out.verdict.affordable_runs < gate["min_runs"][0] == out.verdict.min_runs_needed
    assert "Budget Gate" in out.verdict.message


def test_a_budget_in_gpu_hours_is_converted_with_the_stated_peak_and_mfu():
    out = run(Input(**dict(FAST, budget=200.0, budget_unit="gpu_hours", hardware="A100", mfu=0.3)))
    assert out.budget.flops == pytest.approx(200.0 * knowledge.hardware_peak("A100") * 0.3 * 3600, rel=1e-12)
    assert out.total_cost_flops <= out.budget.flops


def test_a_budget_in_runs_buys_at_most_that_many_runs():
    out = run(Input(**dict(FAST, budget=15, budget_unit="runs")))
    assert 0 < len(out.runs) <= 15 and out.classical_choice.max_runs == 15
    assert out.classical_choice.tool_designs == ["fractional_factorial"]


def test_n_opt_and_exponent_targets_get_finite_predicted_precision():
    n_opt = run(Input(**dict(FAST, target="n_opt", target_compute=1e23, target_N=None, target_D=None)))
    assert n_opt.target["quantity"] == "N_opt" and n_opt.predicted_sd is not None and n_opt.identifiable
    exps = run(Input(**dict(FAST, target="exponents", target_N=None, target_D=None)))
    assert set(exps.predicted_sd_per_target) == {"alpha", "beta"}
    assert all(0 < v < 1 for v in exps.predicted_sd_per_target.values())


def test_sequential_mode_refits_the_completed_runs_and_adds_new_settings_only():
    form = get_form("chinchilla")
    truth = {"E": 1.9, "A": 400.0, "B": 1500.0, "alpha": 0.33, "beta": 0.35}
    rng = np.random.default_rng(0)
    done = [(n, r * n) for n in np.geomspace(2e7, 2e8, 4) for r in (5, 20, 80)]
    X = np.array(done)
    y = form.predict(truth, X) * np.exp(rng.normal(0, 0.0075, len(X)))
    completed = [{"N": n, "D": d, "loss": float(v)} for (n, d), v in zip(done, y)]
    first = run(Input(**FAST))
    nxt = run(Input(**dict(FAST, completed_runs=completed)))
    assert nxt.prior["source"].startswith("fit of the 12 completed runs")
    assert nxt.prior["params"]["alpha"] == pytest.approx(truth["alpha"], abs=0.1)
    new = {(r["N"], r["D"]) for r in nxt.runs}
    assert not new & {(float(n), float(d)) for n, d in done}
    assert nxt.predicted_sd is not None and first.predicted_sd is not None


def test_same_seed_same_design():
    a = run(Input(**dict(EXAMPLE, monte_carlo_sims=5)))
    b = run(Input(**dict(EXAMPLE, monte_carlo_sims=5)))
    assert a.csv == b.csv
    assert [c.mc_median_abs_error for c in a.comparisons] == [c.mc_median_abs_error for c in b.comparisons]


def test_caps_and_bad_input_are_refused_at_once_naming_the_field():
    with pytest.raises(ValidationError, match=f"monte_carlo_sims.*<= {MAX_SIMULATIONS}"):
        Input(**dict(EXAMPLE, monte_carlo_sims=MAX_SIMULATIONS + 1))
    with pytest.raises(ValidationError, match=f"<= {MAX_CANDIDATES}"):
        Input(**dict(EXAMPLE, n_count=500, tokens_per_param_count=100))
    with pytest.raises(ValidationError, match="cost_flops"):
        Input(**dict(FAST, candidates=[{"N": 1e8, "D": 1e9, "cost_flops": 0.0}]))
    with pytest.raises(ValidationError, match="target_N"):
        Input(**dict(FAST, target_N=1e20))
    with pytest.raises(ValidationError, match="target_compute"):
        Input(**dict(FAST, target="n_opt", target_N=None, target_D=None))
    with pytest.raises(ValidationError, match="n_min"):
        Input(**dict(FAST, n_min=1e9, n_max=1e8))
    with pytest.raises(InputError, match="prior_law must be a joint law"):
        run(Input(**dict(FAST, prior_law="kaplan_n")))


def test_an_exhausted_candidate_pool_is_an_error_naming_the_pool():
    pool = [{"N": 1e8, "D": 2e9}, {"N": 2e8, "D": 4e9}]
    completed = [dict(c, loss=3.0) for c in pool]
    with pytest.raises(InputError, match="candidate pool is empty"):
        run(Input(**dict(FAST, candidates=pool, completed_runs=completed)))


def test_the_monte_carlo_check_can_be_switched_off_and_the_report_says_so():
    out = run(Input(**FAST))
    assert out.monte_carlo is None and all(c.mc_sims == 0 for c in out.comparisons)
    text = report.render_step("budget_constrained_design", out)
    assert text.startswith("## Budget-constrained design") and "switched off" in text
    assert "pass" in text and "thinned grid" in text


def test_the_monte_carlo_check_stops_at_its_time_bound_and_says_so():
    out = run(Input(**dict(EXAMPLE, monte_carlo_sims=2000, time_limit_s=0.3)))
    assert out.monte_carlo.truncated and out.monte_carlo.elapsed_s < 3.0
    assert "monte_carlo_truncated" in {w.code for w in out.warnings}
    assert all(c.mc_sims < 2000 for c in out.comparisons)


def test_the_runs_of_design_matrix_construction_serve_as_the_candidate_pool_with_their_costs():
    from scaling_design.sops import design_matrix_construction as dmc
    table = dmc.run(dmc.Input(design="one_axis_sweep", factors={"N": [1e8, 2e8, 4e8, 8e8, 1.6e9, 3.2e9]},
                              fixed={"D": 1e10}, flops_counting="counted",
                              flops_per_token=[8e8, 1.5e9, 2.8e9, 5.4e9, 1.05e10, 2.06e10]))
    out = run(Input(**dict(FAST, candidates=table.runs, budget=1e21, scaling_type="model")))
    by_n = {r["N"]: r["C"] for r in table.runs}
    assert all(r["C"] == by_n[r["N"]] for r in out.runs)
    assert out.total_cost_flops <= 1e21


def test_a_model_size_pool_at_fixed_tokens_is_designed_with_the_one_axis_law_at_that_d():
    epoch = knowledge.published_law("epoch")["params"]
    pool = [{"N": n, "D": 2e10} for n in np.geomspace(2e7, 2e9, 12)]
    out = run(Input(**dict(FAST, candidates=pool, target_N=7e10, target_D=None, budget=1e21, max_repeats=3,
                           scaling_type="model")))
    assert out.prior["form"] == "L = E + A * x^-alpha" and out.prior["axis"] == "N"
    assert out.prior["params"]["E"] == pytest.approx(epoch["E"] + epoch["B"] * 2e10 ** -epoch["beta"], rel=1e-12)
    assert out.target["D"] == 2e10 and out.identifiable and out.predicted_sd is not None
    with pytest.raises(InputError, match="vary both N and D"):
        run(Input(**dict(FAST, candidates=pool, target="n_opt", target_compute=1e22)))


def test_the_gate_verdict_counts_runs_with_repeats_as_the_selection_does():
    # 6 settings x 2 repeats: the budget buys all 12 runs, which meets the compute-optimal gate's 12
    candidates = [{"N": n, "D": 20 * n} for n in (2e7, 4e7, 8e7, 1.6e8, 3.2e8, 6.4e8)]
    out = run(Input(**dict(FAST, budget=1e23, candidates=candidates, max_repeats=2)))
    assert len(out.runs) == 12
    assert out.verdict.affordable_runs == 12 and out.verdict.status == "pass"
    assert "12 runs" in out.verdict.message
    pool = next(w for w in out.warnings if w.code == "budget_exceeds_pool")
    assert "max_repeats > 1" not in pool.message and "max_repeats above 2" in pool.message
    assert "more or larger `candidates`" in pool.message and "n_max" not in pool.message  # the pool was given
    # with one repeat the same pool holds only 6 runs: below the gate, and the way out names repeats
    single = run(Input(**dict(FAST, budget=1e23, candidates=candidates, max_repeats=1)))
    assert single.verdict.status == "below_gate" and single.verdict.affordable_runs == 6
    assert "6 candidate settings x 1 repeat" in single.verdict.what_it_would_take
