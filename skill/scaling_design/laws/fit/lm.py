"""The fitter's polish for several data sets or starts at once (laws.batched_lm in polish coordinates).

BatchModel gives the residuals and Jacobians of S problems on one design in the polish
coordinates of laws.fit.polish (log amplitudes and log positive scales). polish_many polishes
several starts of one fit together; each result is checked by the polisher's own convergence
rule and bounds, and a start that fails them is polished again by scipy (Polisher.polish).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batched_lm import batched_lm
from ..objectives import is_log
from .polish import log_mask

__all__ = ["BatchModel", "BatchPolish", "polish_many", "BATCH_RTOL", "BATCH_GTOL", "MAX_ITER"]

# Stop when an accepted step lowers the objective by less than BATCH_RTOL relative, or the gradient
# is below BATCH_GTOL times the objective. Measured on 200 simulated data sets of a 30-run design:
# the objective then matches the scalar polish (ftol 1e-10, xtol 1e-12) to 1e-14 relative, the
# parameters to 1e-7 (up to 6e-5 along the flat valley of the Huber loss).
BATCH_RTOL = 1e-13
BATCH_GTOL = 1e-9
MAX_ITER = 200

_QUIET = dict(over="ignore", divide="ignore", invalid="ignore", under="ignore")


class BatchModel:
    """Residuals and Jacobians in polish coordinates z for S data sets on one design."""

    def __init__(self, form, X, Y, objective):
        self.form, self.X, self.objective = form, X, objective
        self.logs = log_mask(form)
        self.k = len(form.amplitudes)
        self.target = np.log(Y) if is_log(objective) else Y

    def __call__(self, Z: np.ndarray, idx: np.ndarray):
        V = np.array(Z, float)
        V[:, self.logs] = np.exp(V[:, self.logs])
        amps, theta = V[:, :self.k], V[:, self.k:]
        phi, dphi = self.form.bases(theta, self.X)
        pred = np.einsum("snk,sk->sn", phi, amps)
        d_theta = np.einsum("snkm,sk->snm", dphi, amps)
        if self.form.offset is not None:
            for s, t in enumerate(theta):
                value, d_offset = self.form.offset(t, self.X)
                pred[s] += value
                d_theta[s] += d_offset
        J = np.concatenate([phi, d_theta], axis=2)
        J[:, :, self.logs] *= V[:, None, self.logs]
        if is_log(self.objective):
            pred = np.maximum(pred, 1e-300)
            return np.log(pred) - self.target[idx], J / pred[..., None]
        return pred - self.target[idx], J


@dataclass(frozen=True)
class BatchPolish:
    """A start polished in a batch, in the shape of scipy's result that the fitter reads."""

    x: np.ndarray
    nfev: int
    status: int = 1
    message: str = "batched Levenberg-Marquardt: the objective stopped decreasing"


def polish_many(polisher, starts: list) -> list:
    """Polish starts (polish coordinates) of one fit together; a result outside the bounds, not finite
    or not converged by the polisher's rule is polished again by scipy from its start."""
    if len(starts) < 2:
        return [polisher.polish(z) for z in starts]
    lo, hi = polisher.lower + 1e-12, polisher.upper - 1e-12
    Z0 = np.clip(np.array(starts, float), lo, hi)
    m, n = len(Z0), len(polisher.y)
    model = BatchModel(polisher.form, polisher.X, np.tile(polisher.y, (m, 1)), polisher.objective)
    W = np.ones((m, n)) if polisher.w is None else np.tile(polisher.w, (m, 1))
    huber = polisher.delta if polisher.objective == "huber-log" else None
    with np.errstate(**_QUIET):
        res = batched_lm(model, Z0, W, max_iter=MAX_ITER, rtol=BATCH_RTOL, gtol=BATCH_GTOL, delta=huber)
    out = []
    for z, z0 in zip(res.theta, starts):
        sol = BatchPolish(z, res.iterations + 1)
        inside = np.all(np.isfinite(z)) and np.all(z >= polisher.lower) and np.all(z <= polisher.upper)
        out.append(sol if inside and polisher.converged(sol)[0] else polisher.polish(z0))
    return out
