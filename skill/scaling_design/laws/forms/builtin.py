"""The classic built-in forms: power, Kaplan, saturating, Chinchilla, broken, data-constrained.

Kaplan's (X / X_c)^-alpha is the pure power law A X^-alpha with A = X_c^alpha; it is
fitted in (A, alpha) and reported in (X_c, alpha).
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from .core import LawForm

__all__ = ["CLASSIC_FORMS", "DATA_CONSTRAINED_TOKENS_PER_PARAM", "EXP_BOUNDS"]


# -- bases ---------------------------------------------------------------------------
def _power_basis(theta, X):
    (alpha,) = theta
    logx = np.log(X[:, 0])
    p = np.exp(-alpha * logx)
    return p[:, None], (-logx * p)[:, None, None]


def _saturating_basis(theta, X):
    phi1, dphi1 = _power_basis(theta, X)
    n = X.shape[0]
    phi = np.column_stack([np.ones(n), phi1[:, 0]])
    dphi = np.zeros((n, 2, 1))
    dphi[:, 1, 0] = dphi1[:, 0, 0]
    return phi, dphi


def _joint_terms(alpha, beta, logN, logD):
    pn, pd = np.exp(-alpha * logN), np.exp(-beta * logD)
    n = logN.shape[0]
    phi = np.column_stack([np.ones(n), pn, pd])
    return phi, pn, pd


def _chinchilla_basis(theta, X):
    alpha, beta = theta
    logN, logD = np.log(X[:, 0]), np.log(X[:, 1])
    phi, pn, pd = _joint_terms(alpha, beta, logN, logD)
    dphi = np.zeros((X.shape[0], 3, 2))
    dphi[:, 1, 0] = -logN * pn
    dphi[:, 2, 1] = -logD * pd
    return phi, dphi


def _chinchilla_batch_basis(theta, X):
    """_chinchilla_basis for S parameter vectors theta (S, 2) at once: Phi (S, n, 3), dPhi (S, n, 3, 2)."""
    logN, logD = np.log(X[:, 0]), np.log(X[:, 1])
    pn, pd = np.exp(-theta[:, :1] * logN), np.exp(-theta[:, 1:2] * logD)
    S, n = pn.shape
    phi = np.stack([np.ones((S, n)), pn, pd], axis=2)
    dphi = np.zeros((S, n, 3, 2))
    dphi[:, :, 1, 0] = -logN * pn
    dphi[:, :, 2, 1] = -logD * pd
    return phi, dphi


def _broken_basis(theta, X):
    """Caballero et al. 2022 broken neural scaling law with one break:
    phi = x^-alpha (1 + (x / x_b)^(1/s))^(-delta s)."""
    alpha, delta, x_b, s = theta
    logx = np.log(X[:, 0])
    logu = (logx - np.log(x_b)) / s
    log1pu = np.logaddexp(0.0, logu)
    frac = expit(logu)  # u / (1 + u), overflow-safe
    g = np.exp(-alpha * logx - delta * s * log1pu)
    dlog = np.column_stack([
        -logx,                                              # d/d alpha
        -s * log1pu,                                        # d/d delta
        delta * frac / x_b,                                 # d/d x_b
        -delta * log1pu + delta * frac * logu,              # d/d s
    ])
    n = X.shape[0]
    phi = np.column_stack([np.ones(n), g])
    dphi = np.zeros((n, 2, 4))
    dphi[:, 1, :] = g[:, None] * dlog
    return phi, dphi


def _effective(unique, repeats, r_star):
    """Muennighoff et al. 2023 eq. 5: U + U R* (1 - exp(-R / R*)) and its d/d R*."""
    e = np.exp(-repeats / r_star)
    value = unique + unique * r_star * (1.0 - e)
    d_rstar = unique * ((1.0 - e) - (repeats / r_star) * e)
    return value, d_rstar


DATA_CONSTRAINED_TOKENS_PER_PARAM = 20.0  # Hoffmann 2022: compute-optimal ~20 tokens per parameter


def _data_constrained_basis(theta, X):
    alpha, beta, r_d, r_n = theta
    N, D, U = X[:, 0], X[:, 1], X[:, 2]
    u_d = np.minimum(U, D)
    rep_d = D / u_d - 1.0
    u_n = np.minimum(N, u_d / DATA_CONSTRAINED_TOKENS_PER_PARAM)
    rep_n = N / u_n - 1.0
    d_eff, dd_eff = _effective(u_d, rep_d, r_d)
    n_eff, dn_eff = _effective(u_n, rep_n, r_n)
    logN, logD = np.log(n_eff), np.log(d_eff)
    phi, pn, pd = _joint_terms(alpha, beta, logN, logD)
    dphi = np.zeros((X.shape[0], 3, 4))
    dphi[:, 1, 0] = -logN * pn
    dphi[:, 2, 1] = -logD * pd
    dphi[:, 2, 2] = -beta * pd / d_eff * dd_eff
    dphi[:, 1, 3] = -alpha * pn / n_eff * dn_eff
    return phi, dphi


# -- Kaplan reparameterisation: A = X_c^alpha ------------------------------------------
def _kaplan_to_internal(public):
    x_c, alpha = public[..., 0], public[..., 1]
    return np.stack([np.exp(alpha * np.log(x_c)), alpha], axis=-1)


def _kaplan_to_public(internal):
    a, alpha = internal[..., 0], internal[..., 1]
    return np.stack([np.exp(np.log(a) / alpha), alpha], axis=-1)


def _kaplan_public_jacobian(public):
    x_c, alpha = public
    a = x_c**alpha
    return np.array([[alpha * a / x_c, a * np.log(x_c)], [0.0, 1.0]])


_EXPONENT_GRID = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.55, 0.75, 1.0, 1.5])
_JOINT_GRID = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5])


def _break_starts(X):
    return np.exp(np.quantile(np.log(X[:, 0]), [0.25, 0.5, 0.75]))


EXP_BOUNDS = (0.0, 5.0)

CLASSIC_FORMS: dict[str, LawForm] = {
    "power": LawForm(
        name="power", equation="L = A * x^-alpha", inputs=("x",),
        amplitudes=("A",), exponents=("alpha",),
        bounds={"A": (0.0, np.inf), "alpha": EXP_BOUNDS},
        basis=_power_basis, grid=(_EXPONENT_GRID,),
        description="Pure power law (no irreducible term); valid away from saturation."),
    "kaplan": LawForm(
        name="kaplan", equation="L = (x / X_c)^-alpha", inputs=("x",),
        amplitudes=("A",), exponents=("alpha",),
        bounds={"A": (0.0, np.inf), "alpha": EXP_BOUNDS},
        basis=_power_basis, grid=(_EXPONENT_GRID,),
        public_names=("X_c", "alpha"), to_public=_kaplan_to_public,
        to_internal=_kaplan_to_internal, public_jacobian=_kaplan_public_jacobian, in_auto=False,
        description="Kaplan et al. 2020 single-factor law; X_c is the scale where the law would reach loss 1."),
    "saturating": LawForm(
        name="saturating", equation="L = E + A * x^-alpha", inputs=("x",),
        amplitudes=("E", "A"), exponents=("alpha",),
        bounds={"E": (0.0, np.inf), "A": (0.0, np.inf), "alpha": EXP_BOUNDS},
        basis=_saturating_basis, grid=(_EXPONENT_GRID,),
        description="Power law with an irreducible loss E; E is poorly identified until the data near saturation."),
    "chinchilla": LawForm(
        name="chinchilla", equation="L = E + A / N^alpha + B / D^beta", inputs=("N", "D"),
        amplitudes=("E", "A", "B"), exponents=("alpha", "beta"),
        bounds={"E": (0.0, np.inf), "A": (0.0, np.inf), "B": (0.0, np.inf),
                "alpha": EXP_BOUNDS, "beta": EXP_BOUNDS},
        basis=_chinchilla_basis, grid=(_JOINT_GRID, _JOINT_GRID), batch_basis=_chinchilla_batch_basis,
        description="Hoffmann et al. 2022 joint law in parameters N and training tokens D."),
    "broken": LawForm(
        name="broken", equation="L = E + A * x^-alpha * (1 + (x / x_break)^(1/smoothness))^(-delta_alpha * smoothness)",
        inputs=("x",), amplitudes=("E", "A"), exponents=("alpha", "delta_alpha", "x_break", "smoothness"),
        bounds={"E": (0.0, np.inf), "A": (0.0, np.inf), "alpha": (0.0, 5.0), "delta_alpha": (-2.0, 5.0),
                "x_break": (0.0, np.inf), "smoothness": (0.02, 10.0)},
        basis=_broken_basis,
        grid=(np.array([0.05, 0.15, 0.3, 0.6]), np.array([-0.2, 0.1, 0.3, 0.6]), _break_starts, np.array([0.3, 1.0])),
        log_params=("x_break", "smoothness"),
        description="Caballero et al. 2022 broken power law with one smooth break (slope alpha before, alpha + delta_alpha after); needs many points."),
    "data_constrained": LawForm(
        name="data_constrained",
        equation="L = E + A / N'^alpha + B / D'^beta, D' = U_D + U_D R_D (1 - exp(-(D/U_D - 1) / R_D)), N' likewise with R_N",
        inputs=("N", "D", "U"), amplitudes=("E", "A", "B"), exponents=("alpha", "beta", "R_D", "R_N"),
        bounds={"E": (0.0, np.inf), "A": (0.0, np.inf), "B": (0.0, np.inf), "alpha": EXP_BOUNDS,
                "beta": EXP_BOUNDS, "R_D": (0.01, 1e4), "R_N": (0.01, 1e4)},
        basis=_data_constrained_basis,
        grid=(np.array([0.1, 0.2, 0.3, 0.4, 0.6, 1.0]), np.array([0.1, 0.2, 0.3, 0.4, 0.6, 1.0]),
              np.array([5.0, 15.4, 50.0]), np.array([2.0, 5.3, 20.0])),
        log_params=("R_D", "R_N"),
        constants={"tokens_per_param_for_U_N": DATA_CONSTRAINED_TOKENS_PER_PARAM},
        description=("Muennighoff et al. 2023: repeated data (D > unique tokens U) and parameters in excess of "
                     "U/20 decay in value with constants R_D, R_N (published 15.4 and 5.3).")),
}
