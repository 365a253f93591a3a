"""Closed-form precision of a straight-line fit in log-log space, and the Monte Carlo
summaries that extend it to any law.

For log L = a - alpha log x + e with e ~ N(0, sigma^2) (sigma in natural-log units of
loss), least squares gives
    SE(alpha) = sigma / sqrt(Sxx),   Sxx = sum (log x_i - mean log x)^2,
and the variance of the fitted mean log loss at log x0 is
    sigma^2 (1/n + (log x0 - mean log x)^2 / Sxx).
For k points log-spaced over R decades (spacing h = R ln10 / (k-1)) repeated r times,
    Sxx = r (R ln10)^2 k (k+1) / (12 (k-1)).
Everything here uses natural logs of the scale, so alpha is d ln L / d ln x.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri  # the normal quantile; scipy.stats costs 0.5 s to import

from .results import LawInputError

__all__ = ["sxx", "sxx_log_spaced", "slope_se", "slope_se_log_spaced", "prediction_variance",
           "abs_error_quantile", "relative_error_quantile", "points_for_slope_precision",
           "replicates_for_slope_precision", "first_reaching"]

LN10 = float(np.log(10.0))


def _check_positive(name: str, value: float) -> float:
    if not (np.isfinite(value) and value > 0):
        raise LawInputError(name, f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _check_count(name: str, value: int, minimum: int) -> int:
    if int(value) != value or value < minimum:
        raise LawInputError(name, f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def sxx(log_x) -> float:
    """Sum of squared deviations of the log scales (natural logs)."""
    log_x = np.asarray(log_x, float).ravel()
    if log_x.size < 2:
        raise LawInputError("scales", f"a slope needs at least 2 runs; got {log_x.size}")
    return float(np.sum((log_x - log_x.mean()) ** 2))


def sxx_log_spaced(k: int, decades: float, replicates: int = 1) -> float:
    """Sxx (natural-log units) of k log-spaced points over `decades`, each run `replicates` times."""
    k = _check_count("points", k, 2)
    decades = _check_positive("decades", decades)
    replicates = _check_count("replicates", replicates, 1)
    span = decades * LN10
    return replicates * span**2 * k * (k + 1) / (12.0 * (k - 1))


def slope_se(sigma: float, log_x) -> float:
    """Standard error of the log-log slope for runs at natural-log scales log_x."""
    return _check_positive("sigma", sigma) / np.sqrt(sxx(log_x))


def slope_se_log_spaced(sigma: float, k: int, decades: float, replicates: int = 1) -> float:
    return _check_positive("sigma", sigma) / np.sqrt(sxx_log_spaced(k, decades, replicates))


def prediction_variance(sigma: float, log_x, log_x0) -> np.ndarray:
    """Variance of the fitted mean log loss at natural-log scale(s) log_x0.

    The distance of log_x0 from the centre of the design, measured against Sxx, is what
    an extrapolation pays for."""
    sigma = _check_positive("sigma", sigma)
    log_x = np.asarray(log_x, float).ravel()
    centre = log_x.mean()
    return sigma**2 * (1.0 / log_x.size + (np.asarray(log_x0, float) - centre) ** 2 / sxx(log_x))


def abs_error_quantile(se, q: float = 0.9):
    """q-quantile of |error| for a normal estimator with standard error se (q=0.9 -> 1.645 se)."""
    if not 0 < q < 1:
        raise LawInputError("percentile", f"percentile must be in (0, 1); got {q!r}")
    return ndtri(0.5 + q / 2.0) * np.asarray(se, float)


def relative_error_quantile(estimates, truth: float, q: float = 0.9) -> float:
    """q-quantile of |estimate / truth - 1| over simulated estimates (NaNs = failed fits count as misses)."""
    est = np.asarray(estimates, float)
    if truth == 0:
        raise LawInputError("truth", "the true value of the quantity must be non-zero for a relative error")
    rel = np.abs(est / truth - 1.0)
    rel = np.where(np.isfinite(rel), rel, np.inf)  # a failed fit is an error larger than any target
    return float(np.quantile(rel, q, method="higher")) if rel.size else float("nan")


def first_reaching(curve, target: float) -> int | None:
    """The first count in a [(count, error)] curve whose error is <= target (None if none)."""
    for count, err in curve:
        if err <= target:
            return count
    return None


def points_for_slope_precision(sigma: float, decades: float, target_abs_error: float, *, replicates: int = 1,
                               q: float = 0.9, max_points: int = 64) -> tuple[int | None, list[tuple[int, float]]]:
    """Fewest log-spaced points (2..max_points) whose q-quantile |slope error| <= target.

    Returns (k or None, curve of (k, q-quantile |error|))."""
    target = _check_positive("target_error", target_abs_error)
    curve = [(k, float(abs_error_quantile(slope_se_log_spaced(sigma, k, decades, replicates), q)))
             for k in range(2, _check_count("max_points", max_points, 2) + 1)]
    return first_reaching(curve, target), curve


def replicates_for_slope_precision(sigma: float, k: int, decades: float, target_abs_error: float, *,
                                   q: float = 0.9, max_replicates: int = 64) -> tuple[int | None, list[tuple[int, float]]]:
    """Fewest replicates of a k-point log-spaced design whose q-quantile |slope error| <= target."""
    target = _check_positive("target_error", target_abs_error)
    curve = [(r, float(abs_error_quantile(slope_se_log_spaced(sigma, k, decades, r), q)))
             for r in range(1, _check_count("max_replicates", max_replicates, 1) + 1)]
    return first_reaching(curve, target), curve
