"""Locally optimal design numerics: information matrix, target variance, greedy selection."""
from __future__ import annotations

import time

import numpy as np
import pytest

from scaling_design.knowledge import published_law
from scaling_design.laws import get_form
from scaling_design.laws.optimal_design import (cheapest_first, greedy_select, information_matrix, response_rows,
                                                target_gradient, target_variance, thinned_grid)
from scaling_design.laws.simulate import NoiseModel

SIGMA = 0.0075
POWER = get_form("power")
LINE_PARAMS = {"A": 5.0, "alpha": 0.1}


def _line_rows(x):
    """Power law L = A x^-alpha with log-constant noise is a straight line in log space."""
    return response_rows(POWER, LINE_PARAMS, np.asarray(x)[:, None], NoiseModel("log-constant", SIGMA).sd_of_loss)


def test_information_of_a_power_law_is_the_straight_line_design_matrix():
    x = np.geomspace(1e6, 1e9, 7)
    M = information_matrix(_line_rows(x))
    design = np.column_stack([np.ones_like(x), -np.log(x)])   # working parameters (log A, alpha)
    np.testing.assert_allclose(M, design.T @ design / SIGMA**2, rtol=1e-10)


def test_prediction_variance_matches_the_closed_form_of_a_log_log_line():
    x = np.geomspace(1e6, 1e9, 6)
    x0 = 1e11
    G = target_gradient(POWER, LINE_PARAMS, lambda v: np.log(POWER.predict(v, np.array([[x0]]))))
    var, full = target_variance(information_matrix(_line_rows(x)), G)
    lx = np.log(x)
    closed = SIGMA**2 * (1 / len(x) + (np.log(x0) - lx.mean()) ** 2 / np.sum((lx - lx.mean()) ** 2))
    assert full
    np.testing.assert_allclose(var[0], closed, rtol=1e-6)


def test_target_gradient_matches_the_analytic_derivative():
    x0 = 3e10
    G = target_gradient(POWER, LINE_PARAMS, lambda v: np.log(POWER.predict(v, np.array([[x0]]))))
    np.testing.assert_allclose(G[0], [1.0, -np.log(x0)], rtol=1e-7)


def test_an_unidentified_target_has_infinite_variance():
    rows = _line_rows(np.array([1e8, 1e8, 1e8]))          # one scale: slope not identified
    G = target_gradient(POWER, LINE_PARAMS, lambda v: np.array([v[1]]))
    var, full = target_variance(information_matrix(rows), G)
    assert not full and np.isinf(var[0])


def test_equal_cost_extrapolation_puts_the_textbook_share_of_runs_at_the_top_end():
    # Straight line on u in [-1, 1] extrapolated to u0: optimal share at u = +1 is (u0 + 1) / (2 u0).
    lx = np.linspace(np.log(1e6), np.log(1e8), 21)
    u0 = 3.0
    lx0 = lx.mean() + u0 * (lx[-1] - lx.mean())
    rows = _line_rows(np.exp(lx))
    G = target_gradient(POWER, LINE_PARAMS, lambda v: np.log(POWER.predict(v, np.array([[np.exp(lx0)]]))))
    runs = 60
    sel = greedy_select(rows, np.ones(len(lx)), G, budget=runs, max_repeats=runs)
    assert sel.counts.sum() == runs
    assert sel.counts[0] + sel.counts[-1] == runs               # only the two ends
    assert abs(sel.counts[-1] - runs * (u0 + 1) / (2 * u0)) <= 1


def test_selection_stays_within_budget_and_beats_a_naive_design_on_the_criterion():
    form = get_form("chinchilla")
    params = published_law("epoch")["params"]
    N = np.geomspace(2e7, 1e9, 12)
    X = np.array([(n, r * n) for n in N for r in np.geomspace(2, 200, 10)])
    costs = 6 * X[:, 0] * X[:, 1]
    rows = response_rows(form, params, X, NoiseModel().sd_of_loss)
    G = target_gradient(form, params, lambda v: np.log(form.predict(v, np.array([[7e10, 1.4e12]]))))
    budget = 0.1 * costs.sum()
    sel = greedy_select(rows, costs, G, budget)
    assert sel.cost <= budget and sel.full_rank
    cheap = cheapest_first(costs, budget)
    var_cheap, _ = target_variance(information_matrix(rows[cheap]), G)
    assert sel.variances[0] < var_cheap[0]


def test_selection_over_2000_candidates_takes_under_a_second():
    form = get_form("chinchilla")
    params = published_law("epoch")["params"]
    N = np.geomspace(1e7, 3e9, 50)
    X = np.array([(n, r * n) for n in N for r in np.geomspace(1, 400, 40)])
    assert len(X) == 2000
    costs = 6 * X[:, 0] * X[:, 1]
    start = time.perf_counter()
    rows = response_rows(form, params, X, NoiseModel().sd_of_loss)
    G = target_gradient(form, params, lambda v: np.log(form.predict(v, np.array([[7e10, 1.4e12]]))))
    sel = greedy_select(rows, costs, G, 0.05 * costs.sum())
    assert time.perf_counter() - start < 1.0
    assert sel.counts.sum() > 5


def test_bad_pools_are_refused_with_the_problem_named():
    rows = _line_rows(np.geomspace(1e6, 1e8, 5))
    G = np.array([[1.0, 0.0]])
    with pytest.raises(ValueError, match="at least one run"):
        greedy_select(rows[:0], np.ones(0), G, 1.0)
    with pytest.raises(ValueError, match="costs must be finite and > 0"):
        greedy_select(rows, np.array([1.0, 0.0, 1.0, 1.0, 1.0]), G, 3.0)


def test_thinned_grid_and_cheapest_first_fit_the_budget_with_as_many_runs_as_they_can():
    levels = np.array([(i, j) for i in range(6) for j in range(4)])
    costs = np.array([(i + 1.0) * (j + 1.0) for i, j in levels])
    budget = 30.0
    thin = thinned_grid(levels, costs, budget)
    assert costs[thin].sum() <= budget
    # every kept axis subset is a product: the thinned design is itself a grid
    assert len(thin) == len(np.unique(levels[thin, 0])) * len(np.unique(levels[thin, 1]))
    cheap = cheapest_first(costs, budget)
    assert costs[cheap].sum() <= budget
    assert costs[cheap].sum() + np.sort(np.delete(costs, cheap))[0] > budget


def test_a_large_pool_selected_in_blocks_is_within_one_percent_of_the_exact_greedy():
    from scaling_design.laws.optimal_design import BLOCK_POOL

    form, params = get_form("chinchilla"), published_law("epoch")["params"]
    N = np.geomspace(1e7, 3e9, 60)
    X = np.array([(n, r * n) for n in N for r in np.geomspace(1, 400, 60)])
    assert len(X) > BLOCK_POOL
    costs = 6 * X[:, 0] * X[:, 1]
    rows = response_rows(form, params, X, NoiseModel().sd_of_loss)
    G = target_gradient(form, params, lambda v: np.log(form.predict(v, np.array([[7e10, 1.4e12]]))))
    budget = 0.05 * costs.sum()
    blocks, exact = greedy_select(rows, costs, G, budget), greedy_select(rows, costs, G, budget, exact=True)
    assert blocks.cost <= budget * (1 + 1e-12) and blocks.full_rank
    assert blocks.criterion <= exact.criterion * 1.01
    assert abs(blocks.counts.sum() - exact.counts.sum()) <= 0.05 * exact.counts.sum()
