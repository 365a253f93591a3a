"""budget_constrained_design checks itself under laws it did not assume, against random picks."""
import time

import numpy as np

from scaling_design.laws.forms import get_form
from scaling_design.laws.robust_design import misspecified_errors, random_within_budget
from scaling_design.laws.simulate import NoiseModel
from scaling_design.sops.design_matrix_construction import StepWarning
from scaling_design.tactics import budget_constrained_design as bcd
from scaling_design.tactics.design_stress import regime_warnings, stress_truths
from scaling_design.tactics.sequential_design import selected_family

EPOCH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}


def _grid(ns=(3e7, 8e7, 2e8, 5e8, 1e9), ratios=(5, 20, 80)):
    N = np.repeat(ns, len(ratios))
    return np.column_stack([N, N * np.tile(ratios, len(ns))])


def test_random_picks_spend_at_most_the_budget_and_fill_it():
    rng = np.random.default_rng(0)
    costs = rng.uniform(1, 10, 200)
    for _ in range(20):
        idx = random_within_budget(costs, 100.0, rng)
        assert len(set(idx.tolist())) == len(idx) and costs[idx].sum() <= 100.0
        assert costs[idx].sum() + costs.min() > 100.0 or len(idx) == len(costs)  # nothing cheaper still fits


def test_stress_truths_agree_with_the_prior_at_1e9_and_bend_away_from_it():
    X = np.array([[1e9, 2e10], [7e10, 1.4e12]])
    joint = get_form("chinchilla").predict(EPOCH, X)
    for label, name, values in stress_truths(EPOCH)[1:]:
        other = get_form(name).predict(values, X)
        if name == "joint_nbeta":
            assert other[0] == np.float64(joint[0]) or abs(other[0] / joint[0] - 1) < 1e-12, label
        assert abs(np.log(other[1] / joint[1])) > 0.005, label  # a different law at the 70B target


def test_misspecified_errors_are_noise_level_under_the_assumed_law_and_larger_under_another():
    X, Xt = _grid(), np.array([[7e9, 1.4e11]])
    form, warm = get_form("chinchilla"), get_form("chinchilla").as_array(EPOCH)
    noise = NoiseModel(kind="log-constant", sigma=0.003)
    idx = np.arange(len(X))
    same, _ = misspecified_errors(form, warm, form, warm, X, Xt, noise, np.random.default_rng(0), lambda k: idx, 12,
                                  time.perf_counter() + 60)
    _, name, values = stress_truths(EPOCH)[1]
    other, _ = misspecified_errors(form, warm, get_form(name), values, X, Xt, noise, np.random.default_rng(0),
                                   lambda k: idx, 12, time.perf_counter() + 60)
    assert np.nanmedian(same) < 0.01
    assert np.nanmedian(other) > 3 * np.nanmedian(same)


def test_design_reports_stress_check_against_random_picks():
    out = bcd.run(bcd.Input(**{**bcd.EXAMPLE, "monte_carlo_sims": 6, "compare_naive": False}))
    check = out.stress_check
    assert check is not None and len(check.truths) == 4 and check.truths[0].startswith("prior")
    designs = {(r.truth, r.design) for r in check.rows}
    assert {(t, d) for t in check.truths for d in ("selected", "random")} <= designs
    assert all(r.sims > 0 for r in check.rows if r.truth == check.truths[0])
    assert 0 <= check.selected_beats_random <= len(check.truths)
    codes = {w.code for w in out.warnings}
    assert ("random_design_better" in codes) == (check.selected_beats_random * 2 < len(check.truths)) or check.truncated


def test_picks_far_from_the_target_ratio_are_flagged():
    warnings: list[StepWarning] = []
    low_ratio = np.column_stack([np.geomspace(1e8, 1e9, 6), 2 * np.geomspace(1e8, 1e9, 6)])
    regime_warnings(low_ratio, np.array([[7e10, 1.4e12]]), warnings)
    assert [w.code for w in warnings] == ["picks_outside_target_regime"]
    warnings.clear()
    regime_warnings(low_ratio * [1, 10], np.array([[7e10, 1.4e12]]), warnings)
    assert warnings == []


def test_sequential_mode_selects_the_family_and_flags_a_wrong_prior():
    rng = np.random.default_rng(3)
    X = _grid(ns=(3e7, 6e7, 1.2e8, 2.5e8, 5e8, 1e9))
    truth = [1.8, 480.0, 1.2, 0.34, 0.28, 0.15]  # joint_nbeta: the data exponent grows with N
    y = get_form("joint_nbeta").predict(truth, X) * np.exp(rng.normal(0, 0.002, len(X)))
    warnings: list[StepWarning] = []
    family = selected_family(X, y, warnings)
    assert family is not None and family[0] != "chinchilla"
    assert [w.code for w in warnings] == ["sequential_form_selected"]
    wrong_prior = {**EPOCH, "E": 2.6}
    done = [{"N": float(n), "D": float(d), "loss": float(v)} for (n, d), v in zip(X, y)]
    out = bcd.run(bcd.Input(budget=2e19, target="loss", target_N=7e9, target_D=1.4e11, prior_params=wrong_prior,
                            completed_runs=done, n_min=3e7, n_max=2e9, monte_carlo_sims=0))
    codes = [w.code for w in out.warnings]
    assert "sequential_disagrees_with_prior" in codes and "sequential_form_selected" in codes
    assert "(fitted)" in out.selection_rule
