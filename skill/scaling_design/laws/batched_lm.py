"""Levenberg-Marquardt on many small weighted least-squares problems at once.

A bootstrap refits one model to hundreds of reweighted copies of the same runs; each refit
is a handful of parameters and a few dozen residuals, so the cost of a loop over scipy calls
is the Python overhead, not the algebra. Here every replicate takes its steps together: the
residuals are (B, n), the Jacobians (B, n, p), and each step solves B damped normal systems
(Marquardt 1963, with the diagonal scaling of the normal matrix). A replicate that does not
converge is reported, not hidden.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["BatchResult", "batched_lm"]

Residuals = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # theta (B, p) -> r (B, n), J (B, n, p)


@dataclass(frozen=True)
class BatchResult:
    theta: np.ndarray        # (B, p)
    cost: np.ndarray         # (B,) weighted sum of squares
    converged: np.ndarray    # (B,) bool
    iterations: int


def _cost(r: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.einsum("bn,bn->b", w, r * r)


def _normal(fun: Residuals, theta: np.ndarray, w: np.ndarray):
    r, J = fun(theta)
    JW = J * w[:, :, None]
    return r, np.einsum("bnp,bn->bp", JW, r), np.einsum("bnp,bnq->bpq", JW, J)


def _small_gradient(g: np.ndarray, cost: np.ndarray, gtol: float) -> np.ndarray:
    return np.isfinite(cost) & (np.max(np.abs(g), axis=1) <= gtol * np.maximum(cost, 1e-300))


def batched_lm(fun: Residuals, theta0: np.ndarray, weights: np.ndarray, *, max_iter: int = 1000,
               rtol: float = 1e-15, gtol: float = 1e-4) -> BatchResult:
    """Minimise sum_i w_bi r_bi(theta_b)^2 for every b. weights (B, n) >= 0 (e.g. bootstrap counts).

    Converged: the largest gradient component is at most gtol times the cost (scale-free, the fitter's rule).
    Damping follows Nielsen (1999): shrink by the gain ratio on success, double the growth on failure.
    Each iteration evaluates only the problems still running."""
    theta = np.array(theta0, float)
    w = np.asarray(weights, float)
    B, p = theta.shape
    lam, nu = np.full(B, 1e-3), np.full(B, 2.0)
    eye = np.eye(p)[None]
    with np.errstate(all="ignore"):
        r, g, H = _normal(fun, theta, w)
        cost = _cost(r, w)
        running = np.isfinite(cost) & ~_small_gradient(g, cost, gtol)
        it = 0
        for it in range(1, max_iter + 1):
            idx = np.flatnonzero(running)
            if not len(idx):
                break
            diag = np.einsum("bpp->bp", H[idx])
            diag = np.maximum(diag, 1e-10 * diag.max(axis=1, keepdims=True) + 1e-300)  # a flat direction stays solvable
            step = np.linalg.solve(H[idx] + lam[idx, None, None] * eye * diag[:, None, :], -g[idx][..., None])[..., 0]
            trial = theta[idx] + step
            r_t, g_t, H_t = _normal(fun, trial, w[idx])
            cost_t = _cost(r_t, w[idx])
            predicted = -np.einsum("bp,bp->b", step, g[idx]) * 2 - np.einsum("bp,bpq,bq->b", step, H[idx], step)
            gain = (cost[idx] - cost_t) / np.maximum(predicted, 1e-300)
            ok = np.isfinite(cost_t) & (cost_t <= cost[idx])
            flat = ok & (cost[idx] - cost_t <= rtol * np.maximum(cost[idx], 1e-300))
            good = idx[ok]
            theta[good], r[good], g[good], H[good], cost[good] = trial[ok], r_t[ok], g_t[ok], H_t[ok], cost_t[ok]
            shrink = np.maximum(1 / 3, 1 - (2 * np.clip(gain[ok], 0, 1) - 1) ** 3)
            lam[good], nu[good] = lam[good] * shrink, 2.0
            bad = idx[~ok]
            lam[bad], nu[bad] = lam[bad] * nu[bad], nu[bad] * 2
            running[idx] = ~(flat | (lam[idx] > 1e12) | _small_gradient(g[idx], cost[idx], gtol))
    return BatchResult(theta, cost, _small_gradient(g, cost, gtol), it)
