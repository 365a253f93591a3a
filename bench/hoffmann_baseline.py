"""The baseline both fit benchmarks time: Hoffmann et al. 2022's approach-3 procedure as
Besiroglu et al. 2024 reran it. L-BFGS-B on the summed Huber (delta 1e-3) of
LSE(a - alpha log N, b - beta log D, e) - log L from every point of the 4,500-start grid
alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5, ..., 1}; a, b in {0, 5, ..., 25}. The
analytic gradient is given (faster than the finite differences of the original)."""
from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

DELTA = 1e-3


def hoffmann_grid() -> np.ndarray:
    """The 4,500 starts as rows (a, b, e, alpha, beta)."""
    alphas = np.arange(0.0, 2.01, 0.5)
    es = np.arange(-1.0, 1.01, 0.5)
    ab = np.arange(0.0, 25.01, 5.0)
    return np.array(list(itertools.product(ab, ab, es, alphas, alphas)))


def huber_objective(theta, logN, logD, logL):
    """Summed Huber of the log residuals and its gradient in (a, b, e, alpha, beta)."""
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * logN, b - beta * logD, np.full_like(logN, e)])
    lse = logsumexp(terms, axis=0)
    r = lse - logL
    absr = np.abs(r)
    value = np.sum(np.where(absr <= DELTA, 0.5 * r * r, DELTA * (absr - 0.5 * DELTA)))
    w = np.exp(terms - lse)  # softmax weights: d lse / d term
    g = np.clip(r, -DELTA, DELTA)
    grad = np.array([np.sum(g * w[0]), np.sum(g * w[1]), np.sum(g * w[2]),
                     np.sum(g * w[0] * -logN), np.sum(g * w[1] * -logD)])
    return value, grad


def hoffmann_fit(X, y, starts) -> tuple[np.ndarray, float]:
    """Best (a, b, e, alpha, beta) over L-BFGS-B runs from `starts`, and its objective."""
    logN, logD, logL = np.log(X[:, 0]), np.log(X[:, 1]), np.log(y)
    best, best_val = None, np.inf
    for s in starts:
        res = minimize(huber_objective, s, args=(logN, logD, logL), jac=True, method="L-BFGS-B")
        if res.fun < best_val:
            best, best_val = res.x, res.fun
    return best, best_val


def as_params(theta) -> dict[str, float]:
    a, b, e, alpha, beta = theta
    return {"E": float(np.exp(e)), "A": float(np.exp(a)), "B": float(np.exp(b)), "alpha": float(alpha), "beta": float(beta)}
