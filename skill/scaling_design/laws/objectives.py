"""Fitting objectives on residuals, all SUMMED over runs with optional per-run weights.

- huber-log: sum w * Huber_delta(log Lhat - log L), delta default 1e-3 (Hoffmann et al.
  2022, approach 3). Summed, not averaged: with the mean the loss scale is so small that
  L-BFGS stops early (Besiroglu et al. 2024).
- ls-log: sum w * 0.5 (log Lhat - log L)^2.
- ls: sum w * 0.5 (Lhat - L)^2.
Huber_delta(r) = 0.5 r^2 for |r| <= delta, delta (|r| - delta / 2) beyond: the same 0.5
scale as the squared objectives, so the numbers compare.
"""
from __future__ import annotations

import numpy as np

__all__ = ["OBJECTIVES", "DEFAULT_DELTA", "check_objective", "is_log", "rho", "psi"]

OBJECTIVES = ("huber-log", "ls-log", "ls")
DEFAULT_DELTA = 1e-3


def check_objective(objective: str, delta: float) -> str:
    key = objective.lower().replace("_", "-")
    if key not in OBJECTIVES:
        raise ValueError(f"objective must be one of {list(OBJECTIVES)}; got {objective!r}")
    if key == "huber-log" and not (np.isfinite(delta) and 1e-12 <= delta <= 1.0):
        raise ValueError(f"delta must be a number in [1e-12, 1] (log-residual scale); got {delta!r}")
    return key


def is_log(objective: str) -> bool:
    return objective.endswith("-log")


def rho(r: np.ndarray, objective: str, delta: float) -> np.ndarray:
    """Per-run loss of residuals r."""
    if objective == "huber-log":
        a = np.abs(r)
        return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    return 0.5 * r * r


def psi(r: np.ndarray, objective: str, delta: float) -> np.ndarray:
    """Derivative of rho with respect to the residual."""
    if objective == "huber-log":
        return np.clip(r, -delta, delta)
    return r


def scipy_loss(weights: np.ndarray | None, objective: str):
    """The `loss` argument of scipy.optimize.least_squares for this objective.

    least_squares minimises 0.5 * f_scale^2 * sum rho(f^2 / f_scale^2); scipy's 'huber'
    rho with f_scale = delta is exactly Huber_delta above. Weights enter the Huber case
    through a callable rho (w * huber), and the squared cases through sqrt(w) * r.
    """
    if objective != "huber-log":
        return "linear"
    if weights is None:
        return "huber"
    w = np.asarray(weights, float)

    def weighted_huber(z: np.ndarray) -> np.ndarray:
        out = np.empty((3, z.size))
        small = z <= 1.0
        sz = np.sqrt(z[~small])
        out[0, small], out[1, small], out[2, small] = z[small], 1.0, 0.0
        out[0, ~small], out[1, ~small], out[2, ~small] = 2.0 * sz - 1.0, 1.0 / sz, -0.5 / (z[~small] * sz)
        return out * w

    return weighted_huber
