"""The polish: the objective, its residuals and Jacobian in polish coordinates, and scipy's
trust-region least squares on them.

Polishing works in log space for the amplitudes and positive scales, as Hoffmann did; scipy's
'huber' loss with f_scale = delta is exactly the summed Huber.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.optimize import least_squares

from ..forms import LawForm
from ..objectives import is_log, psi, rho, scipy_loss

__all__ = ["Polisher", "log_mask", "GRAD_TOL", "AMP_FLOOR", "POLISH_XTOL", "POLISH_FTOL", "STOPPED"]

GRAD_TOL = 1e-4         # converged when |grad|_inf <= GRAD_TOL * objective (scale-free)
AMP_FLOOR = 1e-10       # smallest amplitude (relative to max loss) the log-space polish represents
# Measured on Hoffmann's 240 runs and on 60 simulated 30-run designs: ftol = gtol = 1e-10 changes
# the objective by < 3e-13 relative against 1e-15 and needs ~35% fewer evaluations; xtol stays at
# 1e-12 because at 1e-10 a polish on the nearly flat Huber valley stopped 17% above its optimum.
POLISH_XTOL = 1e-12
POLISH_FTOL = 1e-10
STOPPED = -2            # scipy's status when the callback (here: the deadline) stopped the polish


@dataclass(frozen=True)
class _FailedPolish:
    """What a polish returns when every attempt overflowed: the start, marked as not converged."""

    x: np.ndarray
    status: int = 0
    message: str = "the law overflowed (non-finite residuals) at every polish start"
    nfev: int = 0


class Polisher:
    """The objective, its residuals and Jacobian in the polish coordinates z.

    z holds log amplitudes and log positive scales; exponents stay linear. The last
    evaluation of the law is kept, so the Jacobian at the point just evaluated reuses its
    basis (scipy asks for both at every accepted step).
    """

    def __init__(self, form: LawForm, X: np.ndarray, y: np.ndarray, weights, objective: str, delta: float):
        self.form, self.X, self.y, self.objective, self.delta = form, X, y, objective, delta
        self.w = weights
        self.logs = log_mask(form)
        self.lower, self.upper = _bounds(form, self.logs, float(np.max(y)))
        self.target = np.log(y) if is_log(objective) else y
        self.sqrt_w = None if (weights is None or objective == "huber-log") else np.sqrt(weights)
        self.loss = scipy_loss(weights, objective)
        self._last: tuple[bytes, np.ndarray, np.ndarray, np.ndarray] | None = None

    def to_z(self, internal: np.ndarray) -> np.ndarray:
        """Polish coordinates of internal parameter vectors (p,) or (m, p)."""
        z = np.array(internal, float)
        z[..., self.logs] = np.log(np.maximum(z[..., self.logs], np.exp(self.lower[self.logs])))
        return np.clip(z, self.lower, self.upper)

    def from_z(self, z: np.ndarray) -> np.ndarray:
        v = np.array(z, float)
        v[..., self.logs] = np.exp(v[..., self.logs])
        return v

    def _evaluate(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(internal values, prediction, d prediction / d z) at z, from one basis evaluation."""
        key = z.tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1:]
        v = self.from_z(z)
        k = len(self.form.amplitudes)
        phi, dphi = self.form.basis(v[k:], self.X)
        pred = phi @ v[:k]
        d_theta = np.einsum("nkm,k->nm", dphi, v[:k])
        if self.form.offset is not None:
            value, d_offset = self.form.offset(v[k:], self.X)
            pred, d_theta = pred + value, d_theta + d_offset
        J = np.concatenate([phi, d_theta], axis=1)
        J[:, self.logs] *= v[self.logs]
        self._last = (key, v, pred, J)
        return v, pred, J

    def residuals(self, z: np.ndarray) -> np.ndarray:
        _, pred, _ = self._evaluate(z)
        r = (np.log(np.maximum(pred, 1e-300)) if is_log(self.objective) else pred) - self.target
        return r if self.sqrt_w is None else r * self.sqrt_w

    def jac(self, z: np.ndarray) -> np.ndarray:
        _, pred, J = self._evaluate(z)
        if is_log(self.objective):  # a new array: scipy scales the Jacobian it gets in place
            return J / np.maximum(pred, 1e-300)[:, None] if self.sqrt_w is None else \
                J * (self.sqrt_w / np.maximum(pred, 1e-300))[:, None]
        return J.copy() if self.sqrt_w is None else J * self.sqrt_w[:, None]

    def value(self, z: np.ndarray) -> float:
        r = self.residuals(z)
        if self.sqrt_w is not None:  # weights already inside r for squared objectives
            return float(np.sum(0.5 * r * r))
        per_run = rho(r, self.objective, self.delta)
        return float(np.sum(per_run if self.w is None else self.w * per_run))

    def values_of_predictions(self, preds: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The objective for each row of predictions (G, n), without re-evaluating the basis;
        on the runs `rows` only when given (preds then has one column per row)."""
        target, w = (self.target, self.w) if rows is None else (self.target[rows], None if self.w is None else self.w[rows])
        r = (np.log(np.maximum(preds, 1e-300)) if is_log(self.objective) else preds) - target
        per_run = rho(r, self.objective, self.delta)
        return np.sum(per_run if w is None else w * per_run, axis=1)

    def value_on(self, z: np.ndarray, rows: np.ndarray | None) -> float:
        """The objective at z on the runs `rows` only (all runs when None)."""
        _, pred, _ = self._evaluate(z)
        return float(self.values_of_predictions((pred if rows is None else pred[rows])[None, :], rows)[0])

    def gradient(self, z: np.ndarray) -> np.ndarray:
        r = self.residuals(z)
        if self.sqrt_w is not None:
            return self.jac(z).T @ r
        g = psi(r, self.objective, self.delta)
        return self.jac(z).T @ (g if self.w is None else self.w * g)

    def polish(self, z0: np.ndarray, max_nfev: int = 2000, deadline: float | None = None):
        """Trust-region polish. Unbounded first (about a third cheaper per step); only a
        solution that leaves the bounds is polished again with the bounds enforced. Past the
        deadline (time.time()) it stops with status STOPPED."""
        z0 = np.clip(z0, self.lower + 1e-12, self.upper - 1e-12)
        kwargs = dict(jac=self.jac, method="trf", loss=self.loss, x_scale="jac",
                      xtol=POLISH_XTOL, ftol=POLISH_FTOL, gtol=POLISH_FTOL, max_nfev=max_nfev)
        if deadline is not None:
            kwargs["callback"] = partial(_stop_after, deadline)
        if self.objective == "huber-log":
            kwargs["f_scale"] = self.delta
        try:
            sol = least_squares(self.residuals, z0, **kwargs)
        except ValueError:  # the unbounded step reached parameters where the law overflows: polish within bounds
            sol = None
        if sol is not None and np.all(np.isfinite(sol.x)) and np.all(sol.x >= self.lower) and \
                np.all(sol.x <= self.upper):
            return sol
        z1 = z0 if sol is None else np.clip(np.nan_to_num(sol.x, nan=0.0), self.lower + 1e-12, self.upper - 1e-12)
        for start in (z1, z0):  # the clipped solution can sit where the law overflows; then the start itself
            try:
                return least_squares(self.residuals, start, bounds=(self.lower, self.upper), **kwargs)
            except ValueError:
                continue
        return _FailedPolish(z0)

    def converged(self, sol) -> tuple[bool, float]:
        """Converged: scipy reports success and the objective's gradient is at noise level
        (relative to the objective, so the test is scale-free)."""
        g = self.gradient(sol.x)
        free = (sol.x > self.lower + 1e-8) & (sol.x < self.upper - 1e-8)  # bound-active params excluded
        gnorm = float(np.max(np.abs(g[free]))) if free.any() else 0.0
        value = self.value(sol.x)
        ok = bool(sol.status > 0 and gnorm <= GRAD_TOL * value + 1e-12)
        return ok, gnorm


def log_mask(form: LawForm) -> np.ndarray:
    """Which internal parameters the polish holds in log space: the amplitudes and the positive scales."""
    return np.array([n in form.amplitudes or n in form.log_params for n in form.internal_names])


def _stop_after(deadline: float, intermediate_result) -> None:
    """least_squares callback: stop the polish once the deadline (time.time()) has passed."""
    if time.time() > deadline:
        raise StopIteration


def _bounds(form: LawForm, logs: np.ndarray, max_loss: float) -> tuple[np.ndarray, np.ndarray]:
    """Bounds in polish coordinates; log parameters are floored at AMP_FLOOR times the largest loss."""
    floor = np.log(AMP_FLOOR * max_loss)
    lo, hi = [], []
    for n, is_log_param in zip(form.internal_names, logs):
        b_lo, b_hi = form.bounds.get(n, (-np.inf, np.inf))
        if is_log_param:
            lo.append(max(np.log(b_lo), floor) if b_lo > 0 else floor)
            hi.append(np.log(b_hi) if np.isfinite(b_hi) else np.inf)
        else:
            lo.append(b_lo)
            hi.append(b_hi)
    return np.array(lo), np.array(hi)
