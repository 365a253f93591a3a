"""Levenberg-Marquardt on many small weighted least-squares problems at once.

A bootstrap or a Monte Carlo study refits one model to hundreds of data sets on the same runs;
each refit is a handful of parameters and a few dozen residuals, so the cost of a loop over
scipy calls is the Python overhead, not the algebra. Here every problem takes its steps
together: the residuals are (B, n), the Jacobians (B, n, p), and each step solves B damped
normal systems (Marquardt 1963, with the diagonal scaling of the normal matrix). A problem
that does not converge is reported, not hidden.

With `delta` the objective is the Huber loss of the residuals instead of their square: the
gradient uses the clipped residuals, the Gauss-Newton curvature only the residuals inside
delta (the loss is linear beyond, as in the robust-loss scaling of Triggs et al. 2000 that
scipy's least_squares applies), and every step is accepted on the Huber loss itself.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["BatchResult", "batched_lm", "huber_cost"]

# theta (b, p) of the problems idx (b,) -> r (b, n), J (b, n, p). A model whose residuals do not
# depend on the problem (a bootstrap: same losses, other weights) may ignore idx.
Residuals = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class BatchResult:
    theta: np.ndarray        # (B, p)
    cost: np.ndarray         # (B,) weighted sum of squares (of 2 Huber with delta: r^2 inside delta)
    converged: np.ndarray    # (B,) bool
    iterations: int
    stopped: np.ndarray | None = None  # (B,) bool: still running when the deadline passed


def huber_cost(r: np.ndarray, w: np.ndarray, delta: float | None) -> np.ndarray:
    """sum_i w_i h(r_i) per problem, h = r^2 (delta None) or 2 Huber_delta: r^2 inside, 2 delta |r| - delta^2 beyond."""
    if delta is None:
        return np.einsum("bn,bn->b", w, r * r)
    a = np.abs(r)
    return np.sum(w * np.where(a <= delta, r * r, 2 * delta * a - delta * delta), axis=1)


def _normal(fun: Residuals, theta: np.ndarray, idx: np.ndarray, w: np.ndarray, delta: float | None):
    """Residuals, gradient, curvature and the diagonal the damping is scaled by."""
    r, J = fun(theta, idx)
    if delta is None:
        JWt = (J * w[:, :, None]).transpose(0, 2, 1)
        H = JWt @ J  # batched BLAS: several times faster than einsum here
        return r, (JWt @ r[..., None])[..., 0], H, np.einsum("bpp->bp", H)
    # Huber: gradient J' w psi(r); curvature only from the residuals inside delta (the loss is linear
    # beyond), as scipy's least_squares scales a robust loss (Triggs et al. 2000). The damping is
    # scaled by the reweighted normal matrix (weights min(1, delta/|r|)), which stays positive when
    # every residual is beyond delta: far from the optimum the step is then a scaled gradient step.
    a = np.abs(r)
    inside = w * (a <= delta)
    Jt = J.transpose(0, 2, 1)
    g = (Jt @ (w * np.clip(r, -delta, delta))[..., None])[..., 0]
    reweighted = w * np.minimum(1.0, delta / np.maximum(a, 1e-300))
    damping = ((J * J).transpose(0, 2, 1) @ reweighted[..., None])[..., 0]
    return r, g, (Jt * inside[:, None, :]) @ J, damping


def _small_gradient(g: np.ndarray, cost: np.ndarray, gtol: float) -> np.ndarray:
    return np.isfinite(cost) & (np.max(np.abs(g), axis=1) <= gtol * np.maximum(cost, 1e-300))


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched A x = b. A singular system (a data set that leaves a parameter's column exactly zero) gets its
    least-squares step alone instead of failing the batch; one that has none gets NaN, a rejected step."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(len(b)):
            if np.all(np.isfinite(A[i])) and np.all(np.isfinite(b[i])):
                out[i] = np.linalg.lstsq(A[i], b[i], rcond=None)[0]
        return out


def batched_lm(fun: Residuals, theta0: np.ndarray, weights: np.ndarray, *, max_iter: int = 1000,
               rtol: float = 1e-15, gtol: float = 1e-4, delta: float | None = None,
               deadline: float | None = None) -> BatchResult:
    """Minimise sum_i w_bi h(r_bi(theta_b)) for every b. weights (B, n) >= 0 (e.g. bootstrap counts).

    Converged: the largest gradient component is at most gtol times the cost (scale-free, the fitter's rule).
    Damping follows Nielsen (1999): shrink by the gain ratio on success, double the growth on failure.
    Each iteration evaluates only the problems still running; past `deadline` (time.time()) the
    problems still running stop and are marked in `stopped`."""
    theta = np.array(theta0, float)
    w = np.asarray(weights, float)
    B, p = theta.shape
    lam, nu = np.full(B, 1e-3), np.full(B, 2.0)
    eye = np.eye(p)[None]
    every = np.arange(B)
    with np.errstate(all="ignore"):
        r, g, H, D = _normal(fun, theta, every, w, delta)
        cost = huber_cost(r, w, delta)
        running = np.isfinite(cost) & ~_small_gradient(g, cost, gtol)
        it = 0
        for it in range(1, max_iter + 1):
            idx = np.flatnonzero(running)
            if not len(idx) or (deadline is not None and time.time() > deadline):
                break
            diag = D[idx]
            diag = np.maximum(diag, 1e-10 * diag.max(axis=1, keepdims=True) + 1e-300)  # a flat direction stays solvable
            step = _solve(H[idx] + lam[idx, None, None] * eye * diag[:, None, :], -g[idx])
            trial = theta[idx] + step
            r_t, g_t, H_t, D_t = _normal(fun, trial, idx, w[idx], delta)
            cost_t = huber_cost(r_t, w[idx], delta)
            predicted = -np.einsum("bp,bp->b", step, g[idx]) * 2 - np.einsum("bp,bpq,bq->b", step, H[idx], step)
            gain = (cost[idx] - cost_t) / np.maximum(predicted, 1e-300)
            ok = np.isfinite(cost_t) & (cost_t <= cost[idx])
            flat = ok & (cost[idx] - cost_t <= rtol * np.maximum(cost[idx], 1e-300))
            good = idx[ok]
            theta[good], r[good], g[good], H[good], D[good] = trial[ok], r_t[ok], g_t[ok], H_t[ok], D_t[ok]
            cost[good] = cost_t[ok]
            shrink = np.maximum(1 / 3, 1 - (2 * np.clip(gain[ok], 0, 1) - 1) ** 3)
            lam[good], nu[good] = lam[good] * shrink, 2.0
            bad = idx[~ok]
            lam[bad], nu[bad] = lam[bad] * nu[bad], nu[bad] * 2
            running[idx] = ~(flat | (lam[idx] > 1e12) | _small_gradient(g[idx], cost[idx], gtol))
    stopped = running if deadline is not None and time.time() > deadline else np.zeros(B, bool)
    return BatchResult(theta, cost, _small_gradient(g, cost, gtol), it, stopped)
