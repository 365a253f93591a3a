"""Model-robust run selection: a design that hedges across law families.

A locally optimal design (optimal_design.greedy_select) is optimal for one family at one
prior point; it concentrates on few support points, and when the family is wrong it
extrapolates from the wrong corner. The answer of optimal-design theory (Atkinson, Donev &
Tobias, "Optimum Experimental Designs, with SAS", on Bayesian and model-robust designs) is a
criterion averaged over candidate models and a prior over their parameters, plus a share
of space-filling points. Here:

- exploration: a share of the budget goes first to a cost-aware maximin space-filling set in
  the candidates' (log N, log D/N) or (log x) coordinates, cheapest start first;
- the rest is chosen greedily, per unit cost, on the average over models m (each a family at
  a prior draw, with its own information matrix) of the relative variance reduction of the
  target, gain_m / V_m: the greedy step of the mean of log V_m, which is scale-free across
  families whose targets have different units.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .fit import Refitter
from .forms import LawForm
from .optimal_design import WEAK_PRIOR_SD, _criterion, _gains, _rank_one, information_matrix
from .simulate import NoiseModel

__all__ = ["RobustSelection", "space_filling", "robust_select", "EXPLORE_SHARE", "random_within_budget",
           "misspecified_errors"]

EXPLORE_SHARE = 0.25  # of the budget spent on space-filling runs before the model-averaged criterion


@dataclass(frozen=True)
class RobustSelection:
    counts: np.ndarray
    spent: float
    explored: np.ndarray     # indices chosen by the space-filling share
    log_criteria: np.ndarray  # final log target variance per model


def space_filling(features: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """Greedy maximin within a budget: start at the cheapest run, then add the affordable run
    farthest from those chosen (standardised coordinates), until nothing more fits."""
    F = np.asarray(features, float)
    F = (F - F.mean(0)) / np.where(F.std(0) > 0, F.std(0), 1.0)
    costs = np.asarray(costs, float)
    chosen = [int(np.argmin(costs))]
    if costs[chosen[0]] > budget:
        return np.array([], int)
    spent = costs[chosen[0]]
    dist = np.linalg.norm(F - F[chosen[0]], axis=1)
    while True:
        ok = (costs <= budget - spent) & (dist > 0)
        if not ok.any():
            break
        j = int(np.argmax(np.where(ok, dist, -np.inf)))
        chosen.append(j)
        spent += costs[j]
        dist = np.minimum(dist, np.linalg.norm(F - F[j], axis=1))
    return np.array(chosen, int)


def robust_select(models: list[tuple[np.ndarray, np.ndarray]], costs: np.ndarray, budget: float, features: np.ndarray, *,
                  explore_share: float = EXPLORE_SHARE, prior_information: list[np.ndarray] | None = None,
                  max_repeats: int = 1, weak_prior_sd: float = WEAK_PRIOR_SD) -> RobustSelection:
    """Choose runs within `budget` for several models at once.

    models: (rows (n, p_m), G (q_m, p_m)) per model, from optimal_design.response_rows and
    target_gradient at that model's prior point; features: (n, k) coordinates for the
    space-filling share; prior_information: per model, the information of runs already done.
    """
    costs = np.asarray(costs, float)
    if not 0 <= explore_share < 1:
        raise ValueError(f"explore_share must be in [0, 1); got {explore_share!r}")
    counts = np.zeros(costs.size, int)
    explored = space_filling(features, costs, explore_share * budget) if explore_share > 0 else np.array([], int)
    counts[explored] = 1
    spent = float(costs[explored].sum())
    Minvs, Gs, rows_all = [], [], []
    for m, (rows, G) in enumerate(models):
        p = rows.shape[1]
        done = np.zeros((p, p)) if prior_information is None else prior_information[m]
        Minvs.append(np.linalg.inv(done + np.eye(p) / weak_prior_sd ** 2 + information_matrix(rows, counts)))
        Gs.append(np.atleast_2d(G))
        rows_all.append(rows)
    while True:
        ok = (counts < max_repeats) & (costs <= budget - spent + 1e-12 * budget)
        if not ok.any():
            break
        score = np.zeros(costs.size)
        for Minv, rows, G in zip(Minvs, rows_all, Gs):
            score += _gains(Minv, rows, G) / max(_criterion(Minv, G), 1e-300)
        score = np.where(ok, score / len(Minvs) / costs, -np.inf)
        best = int(np.argmax(score))
        if not score[best] > 0:
            break
        counts[best] += 1
        spent += costs[best]
        Minvs = [_rank_one(Minv, rows[best], +1.0) for Minv, rows in zip(Minvs, rows_all)]
    crit = np.log([max(_criterion(Minv, G), 1e-300) for Minv, G in zip(Minvs, Gs)])  # as in the scores: round-off can reach 0
    return RobustSelection(counts, float(np.sum(counts * costs)), explored, crit)


def random_within_budget(costs: np.ndarray, budget: float, rng: np.random.Generator) -> np.ndarray:
    """Random picks of the same cost: the candidates in a random order, each taken while it still fits."""
    costs = np.asarray(costs, float)
    out, total = [], 0.0  # past the first candidate that does not fit, cheaper ones may still fit
    for i in rng.permutation(costs.size):
        if total + costs[i] <= budget * (1 + 1e-12):
            out.append(i)
            total += costs[i]
    return np.array(out, int)


def misspecified_errors(fit_form: LawForm, warm: np.ndarray, truth_form: LawForm, truth: np.ndarray,
                        X: np.ndarray, Xt: np.ndarray, noise: NoiseModel, rng: np.random.Generator,
                        designs, n_sims: int, deadline: float, objective: str = "ls-log") -> tuple[np.ndarray, bool]:
    """Simulate studies whose losses come from `truth_form` (not the form the design assumed),
    fit each with `fit_form` and score the prediction at the targets Xt.

    designs(k) gives the run indices of simulation k (a fixed design, or a fresh random one).
    Returns |log L_hat - log L| averaged over the targets, per simulation (NaN where the refit
    failed or the design cannot identify the law), and whether the deadline cut it short.
    """
    clean, target = truth_form.predict(truth, X), truth_form.predict(truth, Xt)
    errors, refitters = [], {}
    for k in range(n_sims):
        if time.perf_counter() > deadline:
            return np.array(errors), True
        idx = np.asarray(designs(k), int)
        if idx.size < fit_form.n_params:
            errors.append(np.nan)
            continue
        key = idx.tobytes()
        if key not in refitters:
            if len(refitters) >= 8:  # random designs differ every time: keep the cache small
                refitters.clear()
            refitters[key] = Refitter(fit_form, X[idx], objective=objective)
        res = refitters[key].refit(noise.sample(clean[idx], rng), [warm])
        with np.errstate(all="ignore"):
            pred = fit_form.predict(res.values, Xt) if np.all(np.isfinite(res.values)) else np.full(len(Xt), np.nan)
        ok = np.all(np.isfinite(pred)) and np.all(pred > 0)
        errors.append(float(np.mean(np.abs(np.log(pred / target)))) if ok else np.nan)
    return np.array(errors), False
