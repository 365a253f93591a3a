"""Forms that relax the joint law where real pools break it.

- farseer: Li et al. 2025 ("Farseer: A Refined Scaling Law in Large Language Models"),
  L = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) D^(-exp(a1 N^alpha + b1)): the floor, the
  data term's amplitude and the data exponent all depend on N. Written here with the
  amplitudes E = exp(b3) and B = exp(b2), which makes them linear (variable projection).
- joint_nbeta: the joint law with a data exponent that drifts with N,
  E + A / N^alpha + B / D^(beta N^gamma); gamma = 0 is the joint law.
- log_linear: L = A - B ln x, the loss linear in log scale (short ranges, downstream
  metrics); valid only while it stays positive.

N and D enter the N-dependent terms in units of 1e9 (billions): a fixed unit, not a data
set's, that keeps exp(a N^gamma) and D^(-b(N)) of ordinary size for the optimiser. The unit
is part of the form's definition (the reported a, b are for N and D in billions).
"""
from __future__ import annotations

import numpy as np

from .builtin import EXP_BOUNDS
from .core import LawForm

__all__ = ["REFINED_FORMS", "UNIT"]

UNIT = 1e9
_EXP_CAP = 700.0  # exp of anything larger overflows float64


def _capped_exp(z: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(z, _EXP_CAP))


def _farseer_basis(theta, X):
    a3, gamma, a2, beta, a1, alpha, b1 = theta
    n, logd = X[:, 0] / UNIT, np.log(X[:, 1] / UNIT)
    logn = np.log(n)
    ng, nb, na = np.exp(gamma * logn), np.exp(beta * logn), np.exp(alpha * logn)
    floor = _capped_exp(a3 * ng)
    b = _capped_exp(a1 * na + b1)                      # the N-dependent data exponent
    data = _capped_exp(a2 * nb - b * logd)
    phi = np.column_stack([floor, data])
    dphi = np.zeros((X.shape[0], 2, 7))
    dphi[:, 0, 0] = floor * ng
    dphi[:, 0, 1] = floor * a3 * ng * logn
    dphi[:, 1, 2] = data * nb
    dphi[:, 1, 3] = data * a2 * nb * logn
    d_b = -data * logd * b                             # d data / d (log b)
    dphi[:, 1, 4] = d_b * na
    dphi[:, 1, 5] = d_b * a1 * na * logn
    dphi[:, 1, 6] = d_b
    return phi, dphi


def _farseer_from_joint(p: np.ndarray) -> np.ndarray:
    """The joint law E + A/N^alpha + B/D^beta as a Farseer start (first order in A/(E N^alpha))."""
    E, A, B, alpha, beta = p
    a3 = A * UNIT ** (-alpha) / max(E, 1e-6)
    return np.array([E, B * UNIT ** (-beta), a3, -alpha, 0.0, -0.3, 0.0, -0.3, np.log(max(beta, 1e-3))])


def _nbeta_basis(theta, X):
    alpha, beta, gamma = theta
    logN = np.log(X[:, 0])
    logn, logd = logN - np.log(UNIT), np.log(X[:, 1] / UNIT)
    pn = np.exp(-alpha * logN)
    ng = np.exp(gamma * logn)
    pd = _capped_exp(-beta * ng * logd)
    n = X.shape[0]
    phi = np.column_stack([np.ones(n), pn, pd])
    dphi = np.zeros((n, 3, 3))
    dphi[:, 1, 0] = -logN * pn
    dphi[:, 2, 1] = -ng * logd * pd
    dphi[:, 2, 2] = -beta * ng * logn * logd * pd
    return phi, dphi


def _nbeta_from_joint(p: np.ndarray) -> np.ndarray:
    E, A, B, alpha, beta = p
    return np.array([E, A, B * UNIT ** (-beta), alpha, beta, 0.0])


def _log_linear_basis(theta, X):
    logx = np.log(X[:, 0])
    return np.column_stack([np.ones(X.shape[0]), -logx]), np.zeros((X.shape[0], 2, 0))


_WIDE = (-20.0, 20.0)
# The N-exponents are <= 0: each N-dependence fades as N grows, so the law tends to a joint law
# at large N instead of growing without bound outside the data (a positive exponent in exp(a n^b)
# fits a pool as well and extrapolates explosively).
_SLOPE = (-2.0, 0.0)

REFINED_FORMS: dict[str, LawForm] = {
    "farseer": LawForm(
        name="farseer",
        equation="L = E exp(a3 n^gamma) + B exp(a2 n^beta) d^(-exp(a1 n^alpha + b1)), n = N/1e9, d = D/1e9",
        inputs=("N", "D"), amplitudes=("E", "B"), exponents=("a3", "gamma", "a2", "beta", "a1", "alpha", "b1"),
        bounds={"E": (0.0, np.inf), "B": (0.0, np.inf), "a3": _WIDE, "gamma": _SLOPE, "a2": _WIDE,
                "beta": _SLOPE, "a1": _WIDE, "alpha": _SLOPE, "b1": (-10.0, 3.0)},
        basis=_farseer_basis,
        grid=(np.array([0.05, 0.2, 0.8]), np.array([-0.2, -0.4, -0.7]), np.array([-0.2, 0.2]),
              np.array([-0.3, -0.8]), np.array([-0.2, 0.2]), np.array([-0.3, -0.8]), np.log([0.2, 0.4])),
        seed_from=("chinchilla", _farseer_from_joint),
        source="Li et al. 2025, Farseer (arXiv 2506.10972)",
        description=("Farseer (Li et al. 2025): floor, data amplitude and data exponent depend on N; 9 parameters, "
                     "wants 30+ runs over several N and D/N.")),
    "joint_nbeta": LawForm(
        name="joint_nbeta", equation="L = E + A / N^alpha + B / d^(beta n^gamma), n = N/1e9, d = D/1e9",
        inputs=("N", "D"), amplitudes=("E", "A", "B"), exponents=("alpha", "beta", "gamma"),
        bounds={"E": (0.0, np.inf), "A": (0.0, np.inf), "B": (0.0, np.inf), "alpha": EXP_BOUNDS,
                "beta": EXP_BOUNDS, "gamma": (-1.0, 1.0)},
        basis=_nbeta_basis,
        grid=(np.array([0.1, 0.2, 0.3, 0.4, 0.6, 1.0]), np.array([0.1, 0.2, 0.3, 0.4, 0.6, 1.0]),
              np.array([-0.1, 0.0, 0.1])),
        seed_from=("chinchilla", _nbeta_from_joint),
        source="the joint law of Hoffmann et al. 2022 with an N-dependent data exponent",
        description="Joint law whose data exponent drifts with model size (gamma = 0 is Chinchilla)."),
    "log_linear": LawForm(
        name="log_linear", equation="L = A - B ln x", inputs=("x",), amplitudes=("A", "B"), exponents=(),
        bounds={"A": (0.0, np.inf), "B": (0.0, np.inf)}, basis=_log_linear_basis, grid=(),
        source="loss linear in log scale",
        description="Loss linear in log scale; a short-range description, negative beyond exp(A/B)."),
}
