"""Scaling-law forms.

Every form is written as a sum of non-negative amplitudes times basis functions of
the inputs, L = sum_k a_k phi_k(X; theta), where theta are the nonlinear parameters
(exponents, break points, decay constants). That common shape is what lets one fitter
serve all forms: for fixed theta the amplitudes are a linear problem (variable
projection), and the Jacobian of every form follows from d phi / d theta.

Kaplan's (X / X_c)^-alpha is the pure power law A X^-alpha with A = X_c^alpha; it is
fitted in (A, alpha) and reported in (X_c, alpha).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import expit

__all__ = ["LawForm", "FORMS", "get_form", "form_names"]

BasisFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class LawForm:
    """A scaling-law form: its inputs, parameters, bounds, basis and start grid.

    amplitudes are the linear parameters (fitted >= 0), exponents the nonlinear ones.
    log_params names the nonlinear parameters that are positive scales and are
    optimised in log space. basis(theta, X) returns Phi (n, n_amp) and dPhi (n, n_amp,
    n_exp). grid holds candidate values of each nonlinear parameter for the multi-start;
    a value may be a callable of X (for data-dependent starts such as a break point).
    """

    name: str
    equation: str
    inputs: tuple[str, ...]
    amplitudes: tuple[str, ...]
    exponents: tuple[str, ...]
    bounds: dict[str, tuple[float, float]]
    basis: BasisFn
    grid: tuple
    log_params: tuple[str, ...] = ()
    description: str = ""
    public_names: tuple[str, ...] | None = None
    to_public: Callable[[np.ndarray], np.ndarray] | None = None
    to_internal: Callable[[np.ndarray], np.ndarray] | None = None
    public_jacobian: Callable[[np.ndarray], np.ndarray] | None = None
    constants: dict[str, float] = field(default_factory=dict)

    @property
    def internal_names(self) -> tuple[str, ...]:
        return self.amplitudes + self.exponents

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the reported parameters, in order."""
        return self.public_names or self.internal_names

    @property
    def n_params(self) -> int:
        return len(self.internal_names)

    # -- evaluation in internal parameters ------------------------------------------
    def _split(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.amplitudes)
        return values[..., :k], values[..., k:]

    def predict_internal(self, values: np.ndarray, X: np.ndarray) -> np.ndarray:
        amps, theta = self._split(np.asarray(values, float))
        phi, _ = self.basis(theta, X)
        return phi @ amps

    def jacobian_internal(self, values: np.ndarray, X: np.ndarray) -> np.ndarray:
        """d prediction / d internal parameters, shape (n, n_params)."""
        amps, theta = self._split(np.asarray(values, float))
        phi, dphi = self.basis(theta, X)
        return np.concatenate([phi, np.einsum("nkm,k->nm", dphi, amps)], axis=1)

    # -- public interface ----------------------------------------------------------
    def internal(self, public: np.ndarray) -> np.ndarray:
        public = np.asarray(public, float)
        return self.to_internal(public) if self.to_internal else public

    def public(self, internal: np.ndarray) -> np.ndarray:
        internal = np.asarray(internal, float)
        return self.to_public(internal) if self.to_public else internal

    def predict(self, params, X) -> np.ndarray:
        """Predicted loss at X (n, len(inputs)) for public parameters (array or dict)."""
        return self.predict_internal(self.internal(self.as_array(params)), as_design(self, X))

    def jacobian(self, params, X) -> np.ndarray:
        """Analytic d prediction / d public parameters, shape (n, n_params)."""
        values = self.as_array(params)
        J = self.jacobian_internal(self.internal(values), as_design(self, X))
        return J @ self.public_jacobian(values) if self.public_jacobian else J

    def as_array(self, params) -> np.ndarray:
        if isinstance(params, dict):
            missing = [n for n in self.param_names if n not in params]
            if missing:
                raise ValueError(f"params for form {self.name!r} must include {list(self.param_names)}; missing {missing}")
            return np.array([float(params[n]) for n in self.param_names])
        values = np.asarray(params, float)
        if values.shape[-1] != len(self.param_names):
            raise ValueError(f"params for form {self.name!r} must have {len(self.param_names)} values {list(self.param_names)}; got {values.shape[-1]}")
        return values

    def as_dict(self, values: np.ndarray) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.param_names, values)}

    def start_grid(self, X: np.ndarray) -> np.ndarray:
        """All combinations of the grid values of the nonlinear parameters, (G, n_exp)."""
        axes = [np.atleast_1d(g(X) if callable(g) else g).astype(float) for g in self.grid]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)


def as_design(form: LawForm, X) -> np.ndarray:
    X = np.asarray(X, float)
    if X.ndim == 1 and len(form.inputs) == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != len(form.inputs):
        raise ValueError(f"X for form {form.name!r} must have columns {list(form.inputs)}; got shape {X.shape}")
    return X


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


_EXP_BOUNDS = (0.0, 5.0)

FORMS: dict[str, LawForm] = {
    "power": LawForm(
        name="power", equation="L = A * x^-alpha", inputs=("x",),
        amplitudes=("A",), exponents=("alpha",),
        bounds={"A": (0.0, np.inf), "alpha": _EXP_BOUNDS},
        basis=_power_basis, grid=(_EXPONENT_GRID,),
        description="Pure power law (no irreducible term); valid away from saturation."),
    "kaplan": LawForm(
        name="kaplan", equation="L = (x / X_c)^-alpha", inputs=("x",),
        amplitudes=("A",), exponents=("alpha",),
        bounds={"A": (0.0, np.inf), "alpha": _EXP_BOUNDS},
        basis=_power_basis, grid=(_EXPONENT_GRID,),
        public_names=("X_c", "alpha"), to_public=_kaplan_to_public,
        to_internal=_kaplan_to_internal, public_jacobian=_kaplan_public_jacobian,
        description="Kaplan et al. 2020 single-factor law; X_c is the scale where the law would reach loss 1."),
    "saturating": LawForm(
        name="saturating", equation="L = E + A * x^-alpha", inputs=("x",),
        amplitudes=("E", "A"), exponents=("alpha",),
        bounds={"E": (0.0, np.inf), "A": (0.0, np.inf), "alpha": _EXP_BOUNDS},
        basis=_saturating_basis, grid=(_EXPONENT_GRID,),
        description="Power law with an irreducible loss E; E is poorly identified until the data near saturation."),
    "chinchilla": LawForm(
        name="chinchilla", equation="L = E + A / N^alpha + B / D^beta", inputs=("N", "D"),
        amplitudes=("E", "A", "B"), exponents=("alpha", "beta"),
        bounds={"E": (0.0, np.inf), "A": (0.0, np.inf), "B": (0.0, np.inf),
                "alpha": _EXP_BOUNDS, "beta": _EXP_BOUNDS},
        basis=_chinchilla_basis, grid=(_JOINT_GRID, _JOINT_GRID),
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
        bounds={"E": (0.0, np.inf), "A": (0.0, np.inf), "B": (0.0, np.inf), "alpha": _EXP_BOUNDS,
                "beta": _EXP_BOUNDS, "R_D": (0.01, 1e4), "R_N": (0.01, 1e4)},
        basis=_data_constrained_basis,
        grid=(np.array([0.1, 0.2, 0.3, 0.4, 0.6, 1.0]), np.array([0.1, 0.2, 0.3, 0.4, 0.6, 1.0]),
              np.array([5.0, 15.4, 50.0]), np.array([2.0, 5.3, 20.0])),
        log_params=("R_D", "R_N"),
        constants={"tokens_per_param_for_U_N": DATA_CONSTRAINED_TOKENS_PER_PARAM},
        description=("Muennighoff et al. 2023: repeated data (D > unique tokens U) and parameters in excess of "
                     "U/20 decay in value with constants R_D, R_N (published 15.4 and 5.3).")),
}


def form_names() -> list[str]:
    return list(FORMS)


def get_form(name: str) -> LawForm:
    key = name.replace("-", "_").lower()
    aliases = {"joint": "chinchilla", "hoffmann": "chinchilla", "pure": "power", "broken_power": "broken",
               "muennighoff": "data_constrained"}
    key = aliases.get(key, key)
    if key not in FORMS:
        raise ValueError(f"form must be one of {form_names()}; got {name!r}")
    return FORMS[key]
