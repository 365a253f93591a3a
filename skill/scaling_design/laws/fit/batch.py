"""Refits of many data sets on one design at once (Monte Carlo studies, bootstrap resamples).

The scalar path (Refitter.refit) polishes each data set with scipy's trust-region least squares;
for a 30-run design most of that time is the Python overhead of one scipy call per data set.
Here the data sets of a batch are polished from their warm starts together (laws.fit.lm, in the
same polish coordinates), then each is checked as the
scalar path checks its own result: converged by the fitter's gradient rule, inside the bounds,
and no kept grid start beating it. A data set that fails a check is refitted on the scalar path
(with the global search), so every result is one the scalar path would accept.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..batched_lm import batched_lm
from ..objectives import psi, rho
from .fitter import AGREE_RTOL
from .lm import BATCH_GTOL, BATCH_RTOL, MAX_ITER, BatchModel
from .polish import GRAD_TOL, _bounds

__all__ = ["refit_many", "BATCH", "BATCH_RTOL", "BATCH_GTOL"]

# Data sets refitted together by the callers (Monte Carlo, bootstrap): the per-iteration overhead is
# paid per batch; a batch of 64 on a 30-run design takes ~50 ms, short enough for progress and the
# deadline between batches (a deadline loses at most the batch it cuts).
BATCH = 64
MAX_CELLS = 2**21  # data sets x runs x parameters polished at once (16 MB of Jacobian)

_QUIET = dict(over="ignore", divide="ignore", invalid="ignore", under="ignore")


def refit_many(refitter, Y: np.ndarray, warm: np.ndarray, deadline: float | None = None,
               weights: np.ndarray | None = None, fallback: Callable[[int], object] | None = None) -> list:
    """Refits (laws.fit.Refit) of the losses Y (S, n) at the refitter's design, each polished from the
    public parameters `warm`, with per-run weights (S, n) when given (a bootstrap's counts). A data set
    that fails a check of the batch polish is refitted by fallback(s) (default: refitter.refit)."""
    Y = np.asarray(Y, float)
    W = np.ones_like(Y) if weights is None else np.asarray(weights, float)
    fallback = fallback or (lambda s: refitter.refit(Y[s], [warm], deadline=deadline))
    step = max(1, MAX_CELLS // (Y.shape[1] * refitter.form.n_params))  # bounds the (S, n, p) Jacobians
    out: list = []
    for first in range(0, len(Y), step):
        part = slice(first, first + step)
        out += _refit_batch(refitter, Y[part], W[part], warm, deadline, lambda s, f=first: fallback(f + s))
    return out


def _refit_batch(refitter, Y, W, warm, deadline, fallback) -> list:
    from .warm import Refit  # the Refit record lives with the scalar path

    form, objective, delta = refitter.form, refitter.objective, refitter.delta
    usable = np.all(np.isfinite(Y), axis=1) & np.all(Y > 0, axis=1)
    out: list = [Refit(np.full(form.n_params, np.nan), False, float("nan"), 0)] * len(Y)
    idx = np.flatnonzero(usable)
    if not len(idx):
        return out
    model = BatchModel(form, refitter.X, Y[idx], objective)
    bounds = [_bounds(form, model.logs, float(np.max(y))) for y in Y[idx]]
    lower, upper = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    internal = np.array(form.internal(np.asarray(warm, float)), float)
    z0 = np.tile(internal, (len(idx), 1))
    with np.errstate(**_QUIET):
        z0[:, model.logs] = np.log(np.maximum(z0[:, model.logs], np.exp(lower[:, model.logs])))
    z0 = np.clip(z0, lower + 1e-12, upper - 1e-12)
    huber = delta if objective == "huber-log" else None
    res = batched_lm(model, z0, W[idx], max_iter=MAX_ITER, rtol=BATCH_RTOL, gtol=BATCH_GTOL,
                     delta=huber, deadline=deadline)
    accepted = _accepted(refitter, model, res.theta, lower, upper, Y[idx], W[idx], delta)
    for j, s in enumerate(idx):
        if res.stopped[j]:
            out[s] = Refit(np.full(form.n_params, np.nan), False, float("nan"), 1, stopped=True)
        elif accepted[j]:
            z = res.theta[j].copy()
            z[model.logs] = np.exp(z[model.logs])
            out[s] = Refit(form.public(z), True, float(res.cost[j] / 2), 1)
        else:
            out[s] = fallback(s)
    return out


def _accepted(refitter, model: BatchModel, Z, lower, upper, Y, W, delta) -> np.ndarray:
    """The batch solutions the scalar path would accept as they are: finite, inside the bounds, the
    gradient at noise level (the fitter's rule), and no kept grid start better on the grid's runs."""
    with np.errstate(**_QUIET):
        r, J = model(Z, np.arange(len(Z)))
        per_run = W * rho(r, refitter.objective, delta)
        value = np.sum(per_run, axis=1)
        g = np.einsum("snp,sn->sp", J, W * psi(r, refitter.objective, delta))
    inside = np.all((Z >= lower) & (Z <= upper), axis=1) & np.all(np.isfinite(Z), axis=1)
    free = (Z > lower + 1e-8) & (Z < upper - 1e-8)
    gnorm = np.max(np.where(free, np.abs(g), 0.0), axis=1)
    ok = inside & np.isfinite(value) & (gnorm <= GRAD_TOL * value + 1e-12)
    grid = refitter.grid
    grid_values = grid.project_many(Y, refitter.objective, delta, W)
    if grid_values is None:
        return np.zeros(len(Z), bool)  # the grid cannot be checked in a batch: the scalar path does it
    on_grid = value if grid.rows is None else np.sum(per_run[:, grid.rows], axis=1)
    beaten = np.any(grid_values < (on_grid * (1 - AGREE_RTOL))[:, None], axis=1)
    return ok & ~beaten
