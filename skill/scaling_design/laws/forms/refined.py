"""Forms that relax the joint law where real pools break it.

- farseer: Li et al. 2025 ("Farseer: A Refined Scaling Law in Large Language Models"),
  L = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) D^(-exp(a1 N^alpha + b1)): the floor, the
  data term's amplitude and the data exponent all depend on N. Written here with linear
  amplitudes E and B (variable projection) and each a N^lam as c (n^lam - 1) / lam, the
  Box-Cox transform of n: the same family for lam < 0 (a = c / lam, the constant a / lam
  moves into the amplitude; `farseer_from_paper` converts), with the limit lam -> 0 now the
  power law n^c instead of a flat direction. In the paper's parameterisation an exponent
  near 0 leaves a ridge (a and the amplitude trade off along a n^lam ~ a + a lam ln n) where
  the optimiser crawls to a bound; here a ridge is a parameter.
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

__all__ = ["REFINED_FORMS", "UNIT", "farseer_from_paper"]

UNIT = 1e9
_EXP_CAP = 700.0  # exp of anything larger overflows float64


def _capped_exp(z: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(z, _EXP_CAP))


def _box_cox(logn: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """(n^lam - 1) / lam and its derivative in lam, stable at lam -> 0 (where it is ln n).

    With u = lam ln n: g = (e^u - 1) / u and h = g'(u), by their series where |u| < 1e-2 (error
    below 1e-12) and in closed form elsewhere; most calls need only the closed form."""
    u = lam * logn
    small = np.abs(u) < 1e-2
    if not small.any():
        e = np.exp(u)
        return (e - 1) / lam, (e * (u - 1) + 1) / (lam * lam)
    g = 1 + u * (1 / 2 + u * (1 / 6 + u * (1 / 24 + u / 120)))
    h = 1 / 2 + u * (1 / 3 + u * (1 / 8 + u * (1 / 30 + u / 144)))
    if not small.all():
        us = np.where(small, 1.0, u)
        e = np.exp(us)
        g = np.where(small, g, (e - 1) / us)
        h = np.where(small, h, (e * (us - 1) + 1) / (us * us))
    return logn * g, logn * logn * h


def _farseer_basis(theta, X):
    c3, gamma, c2, beta, c1, alpha, b1 = theta
    logn, logd = np.log(X[:, 0] / UNIT), np.log(X[:, 1] / UNIT)
    g3, h3 = _box_cox(logn, gamma)
    g2, h2 = _box_cox(logn, beta)
    g1, h1 = _box_cox(logn, alpha)
    floor = _capped_exp(c3 * g3)
    b = _capped_exp(b1 + c1 * g1)                      # the N-dependent data exponent
    data = _capped_exp(c2 * g2 - b * logd)
    phi = np.column_stack([floor, data])
    dphi = np.zeros((X.shape[0], 2, 7))
    dphi[:, 0, 0] = floor * g3
    dphi[:, 0, 1] = floor * c3 * h3
    dphi[:, 1, 2] = data * g2
    dphi[:, 1, 3] = data * c2 * h2
    d_b = -data * logd * b                             # d data / d (log b)
    dphi[:, 1, 4] = d_b * g1
    dphi[:, 1, 5] = d_b * c1 * h1
    dphi[:, 1, 6] = d_b
    return phi, dphi


def _farseer_from_joint(p: np.ndarray) -> np.ndarray:
    """The joint law E + A/N^alpha + B/D^beta as a Farseer start (first order in A/(E N^alpha))."""
    E, A, B, alpha, beta = p
    a3 = A * UNIT ** (-alpha) / max(E, 1e-6)
    return np.array([E * np.exp(a3), B * UNIT ** (-beta), -alpha * a3, -alpha, 0.0, -0.3, 0.0, -0.3,
                     np.log(max(beta, 1e-3))])


def farseer_from_paper(E, B, a3, gamma, a2, beta, a1, alpha, b1) -> np.ndarray:
    """This form's parameters from Li et al.'s a, lam (exponents < 0) and amplitudes, with N
    and D in billions: E exp(a3 n^gamma) = E e^a3 exp(a3 gamma (n^gamma - 1) / gamma)."""
    return np.array([E * np.exp(a3), B * np.exp(a2), a3 * gamma, gamma, a2 * beta, beta, a1 * alpha, alpha,
                     b1 + a1])


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
# The N-exponents are <= 0: below 0 each N-dependence fades as N grows (bc(n, lam) tends to -1/lam),
# so the law tends to a joint law at large N; at 0 it is a power law of N. A positive exponent fits
# a pool as well and extrapolates explosively outside it.
_SLOPE = (-2.0, 0.0)

REFINED_FORMS: dict[str, LawForm] = {
    "farseer": LawForm(
        name="farseer",
        equation=("L = E exp(c3 bc(n, gamma)) + B exp(c2 bc(n, beta)) d^(-exp(b1 + c1 bc(n, alpha))), "
                  "bc(n, lam) = (n^lam - 1) / lam (ln n at lam = 0), n = N/1e9, d = D/1e9"),
        inputs=("N", "D"), amplitudes=("E", "B"), exponents=("c3", "gamma", "c2", "beta", "c1", "alpha", "b1"),
        bounds={"E": (0.0, np.inf), "B": (0.0, np.inf), "c3": _WIDE, "gamma": _SLOPE, "c2": _WIDE,
                "beta": _SLOPE, "c1": _WIDE, "alpha": _SLOPE, "b1": (-10.0, 3.0)},
        basis=_farseer_basis,
        grid=(np.array([-0.05, -0.2]), np.array([-0.2, -0.5]), np.array([-0.1, 0.1]), np.array([-0.3]),
              np.array([-0.1, 0.1]), np.array([-0.3]), np.log([0.2, 0.3, 0.45])),
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
