"""The LawForm type shared by every family: inputs, parameters, bounds, basis, start grid.

Every form is written as a sum of non-negative amplitudes times basis functions of
the inputs, plus an optional offset with no amplitude,
L = sum_k a_k phi_k(X; theta) + offset(X; theta), where theta are the nonlinear
parameters (exponents, break points, decay constants). That common shape is what lets
one fitter serve all forms: for fixed theta the amplitudes are a linear problem
(variable projection), and the Jacobian of every form follows from d phi / d theta.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["LawForm", "as_design", "BasisFn"]

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
    # offset(theta, X) -> (value (n,), d value / d theta (n, n_exp)): a term with no amplitude
    offset: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    # a simpler form whose fit seeds this one: (name, map of its public params to this form's)
    seed_from: tuple[str, Callable[[np.ndarray], np.ndarray]] | None = None
    # batch_basis(theta (S, n_exp), X) -> Phi (S, n, n_amp), dPhi (S, n, n_amp, n_exp): the basis at S
    # parameter vectors at once, for forms refitted many times (optional; a loop over basis otherwise)
    batch_basis: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    in_auto: bool = True          # a candidate of form selection ('auto'); False for aliases of a family
    source: str = ""              # the paper or expression the form comes from

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
        out = phi @ amps
        return out if self.offset is None else out + self.offset(theta, X)[0]

    def jacobian_internal(self, values: np.ndarray, X: np.ndarray) -> np.ndarray:
        """d prediction / d internal parameters, shape (n, n_params)."""
        amps, theta = self._split(np.asarray(values, float))
        phi, dphi = self.basis(theta, X)
        d_theta = np.einsum("nkm,k->nm", dphi, amps)
        if self.offset is not None:
            d_theta = d_theta + self.offset(theta, X)[1]
        return np.concatenate([phi, d_theta], axis=1)

    def bases(self, theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The basis at S nonlinear parameter vectors theta (S, n_exp): Phi (S, n, n_amp), dPhi (S, n, n_amp, n_exp)."""
        if self.batch_basis is not None:
            return self.batch_basis(theta, X)
        pairs = [self.basis(t, X) for t in theta]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def offset_values(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The amplitude-free part of the prediction at nonlinear parameters theta (0 if none)."""
        return np.zeros(X.shape[0]) if self.offset is None else self.offset(theta, X)[0]

    @property
    def main_scale(self) -> str:
        """The input that grows with scale: N for joint forms, x for one-axis forms."""
        return "N" if "N" in self.inputs else self.inputs[0]

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
        if not axes:  # a form with amplitudes only: one (empty) start
            return np.zeros((1, 0))
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)


def as_design(form: LawForm, X) -> np.ndarray:
    X = np.asarray(X, float)
    if X.ndim == 1 and len(form.inputs) == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != len(form.inputs):
        raise ValueError(f"X for form {form.name!r} must have columns {list(form.inputs)}; got shape {X.shape}")
    return X


