"""Locally optimal designs for scaling-law fits: which runs most reduce the
uncertainty of the quantity a study is for, per unit cost.

The fit works on log loss, so each run i contributes a row r_i = (d log L_i / d w) / s_i
to the Fisher information M = sum_i r_i r_i^T, where w are the working parameters
(positive scales such as E, A, B in log space, exponents as they are) and s_i is the
standard deviation of log L_i under the noise model (delta method: sd(L)/L). The
asymptotic covariance of w is M^-1, and a target quantity t(w) (loss at a target
scale, N_opt at a target compute, the exponents) has variance g^T M^-1 g with
g = dt/dw. A V-optimal design minimises the summed target variance.

Selection is greedy and cost-weighted (Li et al. 2026, "Spend Less, Fit Better", take the
same route): each step adds the affordable candidate with the largest variance reduction
per unit cost, computed for all candidates at once with the Sherman-Morrison update
    V(M + r r^T) = V(M) - |G M^-1 r|^2 / (1 + r^T M^-1 r).
On pools of more than BLOCK_POOL candidates a step adds the best BLOCK_FRACTION of the runs
chosen so far at once (a Woodbury update): one run moves the scores by about 1/k once k runs
are chosen, so the block changes the picks little, and the selection costs O(n log k) instead
of O(n k). On pools of 10,000 and 20,000 candidates its criterion was within 0.3% of the
one-run-a-step greedy's (bench/scaling_cost.py prints both).
Because pure ratio-greedy can be myopic (Khuller, Moss, Naor 1999 for budgeted
selection), the plain gain-greedy is run too and the better of the two kept, then a
Fedorov-style exchange pass swaps runs while the budget allows and the criterion falls.
A weak prior precision on w makes the first steps well defined while M is singular; it
is removed when the precision of the final design is reported.

Locally optimal means optimal at the prior parameters: refit as results arrive and
select again (sequential mode: pass the information of the runs already done).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .forms import LawForm, as_design, get_form

__all__ = ["log_scale_params", "to_working", "from_working", "response_rows", "information_matrix",
           "target_gradient", "target_variance", "greedy_select", "SelectionResult",
           "thinned_grid", "cheapest_first", "WEAK_PRIOR_SD"]

WEAK_PRIOR_SD = 3.0       # sd of each working parameter in the tie-breaking prior (log units / exponent units)
FD_STEP = 1e-5            # central-difference step in working units for target gradients
RANK_RTOL = 1e-10         # eigenvalues below this fraction of the largest count as unidentified directions
EXCHANGE_PER_PASS = 40    # chosen runs tried for a swap per exchange pass (bounds the time on large pools)
BLOCK_POOL = 2000         # pools up to this many candidates get the exact one-run-a-step greedy
BLOCK_FRACTION = 0.02     # on larger pools a step adds this fraction of the runs already chosen


def _form(form: LawForm | str) -> LawForm:
    return get_form(form) if isinstance(form, str) else form


def log_scale_params(form: LawForm, values: np.ndarray) -> np.ndarray:
    """Mask of the parameters worked in log space: positive amplitudes and scales."""
    names = form.param_names
    scale_names = set(form.amplitudes) | set(form.log_params) | {"X_c"}
    return np.array([n in scale_names and v > 0 for n, v in zip(names, values)])


def to_working(form: LawForm, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, float)
    mask = log_scale_params(form, values)
    return np.where(mask, np.log(np.where(mask, values, 1.0)), values)


def from_working(form: LawForm, working: np.ndarray, mask: np.ndarray) -> np.ndarray:
    working = np.asarray(working, float)
    return np.where(mask, np.exp(working), working)


def response_rows(form: LawForm | str, params, X, sd_of_loss: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Whitened rows (d log L / d w) / sd(log L), shape (n, p), at the prior parameters.

    sd_of_loss maps true loss to the sd of the observed loss (e.g. NoiseModel.sd_of_loss).
    """
    form = _form(form)
    values = form.as_array(params)
    X = as_design(form, X)
    loss = form.predict(values, X)
    J = form.jacobian(values, X)                                   # dL / d theta
    mask = log_scale_params(form, values)
    J = J * np.where(mask, values, 1.0)[None, :]                   # dL / d w
    sd_log = np.asarray(sd_of_loss(loss), float) / loss
    if np.any(~np.isfinite(sd_log)) or np.any(sd_log <= 0):
        raise ValueError("the noise model must give a positive, finite sd at every run; got sd <= 0")
    return J / (loss * sd_log)[:, None]


def information_matrix(rows: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Fisher information sum_i c_i r_i r_i^T for whitened rows (n, p) and run counts c."""
    rows = np.asarray(rows, float)
    if counts is None:
        return rows.T @ rows
    return rows.T @ (rows * np.asarray(counts, float)[:, None])


def target_gradient(form: LawForm | str, params, target: Callable[[np.ndarray], np.ndarray],
                    step: float = FD_STEP) -> np.ndarray:
    """d target / d w by central differences, shape (q, p); target maps public values to (q,) values."""
    form = _form(form)
    values = form.as_array(params)
    mask = log_scale_params(form, values)
    w0 = to_working(form, values)
    q = np.atleast_1d(np.asarray(target(values), float)).size
    G = np.empty((q, w0.size))
    for j in range(w0.size):
        hi, lo = w0.copy(), w0.copy()
        hi[j] += step
        lo[j] -= step
        G[:, j] = (np.atleast_1d(target(from_working(form, hi, mask))) -
                   np.atleast_1d(target(from_working(form, lo, mask)))) / (2 * step)
    return G


def target_variance(M: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, bool]:
    """Variance of each target (q,) under information M, and whether M identifies the targets.

    A target is identified when its gradient lies in the span of M; otherwise its variance is inf.
    """
    eigval, eigvec = np.linalg.eigh((M + M.T) / 2)
    keep = eigval > RANK_RTOL * max(eigval.max(), 0.0) if eigval.max() > 0 else np.zeros_like(eigval, bool)
    Gv = G @ eigvec
    var = np.sum(Gv[:, keep] ** 2 / eigval[keep], axis=1)
    lost = np.sum(Gv[:, ~keep] ** 2, axis=1) > 1e-12 * np.maximum(np.sum(G**2, axis=1), 1e-300)
    var = np.where(lost, np.inf, var)
    return var, bool(keep.all())


@dataclass(frozen=True)
class SelectionResult:
    """Chosen runs (indices into the pool, with repeats as counts) and what they buy."""

    counts: np.ndarray        # (n,) runs chosen per candidate
    cost: float               # total cost of the chosen runs
    criterion: float          # summed target variance with the weak prior (what was minimised)
    variances: np.ndarray     # (q,) target variances without the prior (inf if unidentified)
    full_rank: bool           # the chosen runs (plus any done before) identify every parameter
    rule: str                 # which pass won: "cost-weighted greedy" or "gain greedy", "+ exchange"
    n_exchanges: int

    @property
    def indices(self) -> np.ndarray:
        return np.repeat(np.arange(self.counts.size), self.counts)


def _criterion(Minv: np.ndarray, G: np.ndarray) -> float:
    return float(np.sum((G @ Minv) * G))


def _gains(Minv: np.ndarray, rows: np.ndarray, G: np.ndarray) -> np.ndarray:
    U = rows @ Minv                                  # (n, p): M^-1 r_i for every candidate
    num = np.sum((U @ G.T) ** 2, axis=1)
    den = 1.0 + np.sum(U * rows, axis=1)
    return num / den


def _rank_one(Minv: np.ndarray, r: np.ndarray, sign: float) -> np.ndarray:
    u = Minv @ r
    return Minv - sign * np.outer(u, u) / (1.0 + sign * r @ u)


class _Scores:
    """The gain of every candidate under the current M^-1, kept up to date by rank-one updates:
    W = R M^-1 G^T (n, q) and d = diag(R M^-1 R^T) (n,), so each step costs O(n (p + q)) instead of
    recomputing R M^-1 (O(n p^2)). Recomputed from scratch every REFRESH steps against drift."""

    REFRESH = 256

    def __init__(self, rows: np.ndarray, G: np.ndarray, Minv: np.ndarray):
        self.rows, self.G = rows, G
        self._reset(Minv)

    def _reset(self, Minv: np.ndarray) -> None:
        self.Minv = Minv
        U = self.rows @ Minv
        self.W, self.d, self.steps = U @ self.G.T, np.sum(U * self.rows, axis=1), 0

    def gains(self) -> np.ndarray:
        return np.sum(self.W**2, axis=1) / (1.0 + self.d)

    def add_block(self, R: np.ndarray) -> None:
        """Add the rows R (b, p) at once: M^-1 - U (I + R U)^-1 U^T with U = M^-1 R^T, then rescore."""
        U = self.Minv @ R.T
        self._reset(self.Minv - U @ np.linalg.solve(np.eye(len(R)) + R @ U, U.T))

    def add(self, r: np.ndarray) -> None:
        u = self.Minv @ r
        c = 1.0 + r @ u
        self.Minv = self.Minv - np.outer(u, u) / c
        self.steps += 1
        if self.steps >= self.REFRESH:
            self._reset(self.Minv)
            return
        s = self.rows @ u
        self.W -= np.outer(s, self.G @ u / c)
        self.d -= s * s / c


def _block_size(n_candidates: int, n_chosen: int) -> int:
    """Runs added per greedy step: one on pools up to BLOCK_POOL candidates (the exact greedy);
    on larger pools a fraction BLOCK_FRACTION of the runs already chosen, so the steps grow
    geometrically and the whole selection costs O(n log k) instead of O(n k)."""
    return 1 if n_candidates <= BLOCK_POOL else max(1, int(BLOCK_FRACTION * n_chosen))


def _top(score: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (a partition, then a sort of the k only)."""
    if k >= score.size:
        return np.argsort(-score, kind="stable")
    top = np.argpartition(-score, k - 1)[:k]
    return top[np.argsort(-score[top], kind="stable")]


def _greedy(rows, costs, G, budget, Minv, max_repeats, max_runs, per_cost: bool, exact: bool = False):
    counts = np.zeros(costs.size, int)
    spent = 0.0
    scores = _Scores(rows, G, Minv)
    while max_runs is None or counts.sum() < max_runs:
        ok = (counts < max_repeats) & (costs <= budget - spent + 1e-12 * budget)
        if not ok.any():
            break
        score = scores.gains()
        if per_cost:
            score = score / costs
        score = np.where(ok, score, -np.inf)
        block = 1 if exact else _block_size(costs.size, int(counts.sum()))
        if max_runs is not None:
            block = min(block, max_runs - int(counts.sum()))
        picks = _top(score, block) if block > 1 else [int(np.argmax(score))]
        added = 0
        for best in picks:
            if not score[best] > 0 or costs[best] > budget - spent + 1e-12 * budget:
                break
            counts[best] += 1
            spent += costs[best]
            added += 1
            if block == 1:
                scores.add(rows[best])
        if not added:
            break
        if block > 1:  # a block: the scores are recomputed from M^-1 after a Woodbury update
            scores.add_block(rows[picks[:added]])
    return counts, spent, scores.Minv


def _removal_losses(Minv: np.ndarray, rows: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Increase of the criterion when one run of each row is removed (Sherman-Morrison downdate)."""
    U = rows @ Minv
    num = np.sum((U @ G.T) ** 2, axis=1)
    den = 1.0 - np.sum(U * rows, axis=1)
    return np.where(den > 1e-12, num / np.maximum(den, 1e-12), np.inf)


def _exchange(rows, costs, G, budget, Minv, counts, spent, max_repeats, max_passes=5, per_pass=EXCHANGE_PER_PASS):
    """Swap one chosen run for one candidate while the criterion falls and the budget holds.

    Each pass tries the `per_pass` chosen runs whose removal costs the least (the likeliest to be
    worth swapping), which bounds the work on large pools."""
    n_swaps = 0
    for _ in range(max_passes):
        improved = False
        chosen = np.flatnonzero(counts)
        order = chosen[np.argsort(_removal_losses(Minv, rows[chosen], G), kind="stable")][:per_pass]
        for i in order:
            base = _criterion(Minv, G)
            Mout = _rank_one(Minv, rows[i], -1.0)
            removed = counts.copy()
            removed[i] -= 1
            room = budget - (spent - costs[i])
            ok = (removed < max_repeats) & (costs <= room + 1e-12 * budget)
            ok[i] = False
            if not ok.any():
                continue
            new = _criterion(Mout, G) - _gains(Mout, rows, G)
            new = np.where(ok, new, np.inf)
            j = int(np.argmin(new))
            if new[j] < base * (1 - 1e-9):
                counts[i] -= 1
                counts[j] += 1
                spent += costs[j] - costs[i]
                Minv = _rank_one(Mout, rows[j], +1.0)
                n_swaps += 1
                improved = True
        if not improved:
            break
    return counts, spent, Minv, n_swaps


def greedy_select(rows: np.ndarray, costs: np.ndarray, G: np.ndarray, budget: float, *,
                  prior_information: np.ndarray | None = None, max_repeats: int = 1,
                  max_runs: int | None = None, exchange: bool = True,
                  weak_prior_sd: float = WEAK_PRIOR_SD, exact: bool = False) -> SelectionResult:
    """Choose runs from a candidate pool to minimise the summed target variance within `budget`.

    rows: whitened response rows (n, p) of the candidates; costs: (n,) > 0 in budget units;
    G: target gradients (q, p); prior_information: information of runs already done (p, p).
    exact: one run a step on any pool (else pools over BLOCK_POOL candidates go in blocks).
    """
    rows, costs, G = np.asarray(rows, float), np.asarray(costs, float), np.atleast_2d(np.asarray(G, float))
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise ValueError(f"the candidate pool must hold at least one run; got {rows.shape[0] if rows.ndim else 0}")
    if costs.shape != (rows.shape[0],):
        raise ValueError(f"costs must have one value per candidate ({rows.shape[0]}); got shape {costs.shape}")
    if np.any(~np.isfinite(costs)) or np.any(costs <= 0):
        raise ValueError(f"costs must be finite and > 0; got minimum {np.nanmin(costs)!r}")
    p = rows.shape[1]
    done = np.zeros((p, p)) if prior_information is None else np.asarray(prior_information, float)
    start = done + np.eye(p) / weak_prior_sd**2
    Minv0 = np.linalg.inv(start)
    best = None
    for per_cost, label in ((True, "cost-weighted greedy"), (False, "gain greedy")):
        counts, spent, Minv = _greedy(rows, costs, G, budget, Minv0.copy(), max_repeats, max_runs, per_cost, exact)
        crit = _criterion(Minv, G)
        if best is None or crit < best[2]:
            best = (counts, spent, crit, Minv, label)
    counts, spent, crit, Minv, label = best
    n_swaps = 0
    if exchange and counts.any() and max_runs is None:
        counts, spent, Minv, n_swaps = _exchange(rows, costs, G, budget, Minv, counts, spent, max_repeats)
        crit = _criterion(Minv, G)
        if n_swaps:
            label += " + exchange"
    var, full = target_variance(done + information_matrix(rows, counts), G)
    return SelectionResult(counts, float(np.sum(counts * costs)), crit, var, full, label, n_swaps)


def _even_subsets(n_levels: int) -> list[np.ndarray]:
    """Evenly thinned subsets of n levels: m levels spread end to end, and every k-th from the smallest."""
    spread = [np.unique(np.round(np.linspace(0, n_levels - 1, m)).astype(int)) for m in range(1, n_levels + 1)]
    strided = [np.arange(0, n_levels, k) for k in range(2, n_levels)]
    return spread + strided


def thinned_grid(levels: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """The geometric grid thinned evenly along every axis: the subset with the most runs within budget.

    levels: (n, k) integer level index of each candidate on each of k axes (a grid's coordinates;
    for a plain list use arange(n)[:, None]). Each axis keeps either m levels spread from its
    smallest to its largest, or every k-th level from the smallest; ties go to the larger spend.
    Returns the indices of the chosen candidates (empty when no thinned grid fits).
    """
    levels, costs = np.atleast_2d(np.asarray(levels, int)), np.asarray(costs, float)
    if levels.shape[0] != costs.size:
        levels = levels.T
    per_axis = [_even_subsets(int(levels[:, a].max()) + 1) for a in range(levels.shape[1])]
    best, best_key = np.array([], int), (0, 0.0)
    for combo in itertools.product(*per_axis):
        keep = np.ones(costs.size, bool)
        for a, chosen in enumerate(combo):
            keep &= np.isin(levels[:, a], chosen)
        spend = costs[keep].sum()
        key = (int(keep.sum()), float(spend))
        if spend <= budget * (1 + 1e-12) and key > best_key:
            best, best_key = np.flatnonzero(keep), key
    return best


def cheapest_first(costs: np.ndarray, budget: float) -> np.ndarray:
    """Indices of the cheapest runs, taken in order of cost while the budget lasts."""
    costs = np.asarray(costs, float)
    order = np.argsort(costs, kind="stable")
    within = np.cumsum(costs[order]) <= budget * (1 + 1e-12)
    return np.sort(order[within])
