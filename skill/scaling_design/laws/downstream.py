"""Two-step downstream prediction (Bhagia et al. 2024, "Establishing Task Scaling Laws via
Compute-Efficient Model Ladders"; the Llama 3 report does the same in two steps):

    step 1  task loss   L(N, D) = E + A / N^alpha + B / D^beta       (the joint law)
    step 2  metric      Acc(L) = low + (high - low) / (1 + exp(k (L - L0)))

k > 0, so a higher-is-better metric (accuracy) falls as the task loss rises; a lower-is-better
metric (an error rate) uses the mirrored sigmoid, exp(-k (L - L0)). Step 2 is fitted to the
observed task losses of the runs, as the paper does. Intervals come from one bootstrap over
runs (resampling scales, then seeds within them) that refits both steps on the same resample,
so the target's interval carries both steps' uncertainty and their dependence.

Both refits are least squares (step 1 on log loss, step 2 on the metric), done for every
replicate at once by batched Levenberg-Marquardt from the full-data optimum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit, logit

from .batched_lm import batched_lm
from .bootstrap import scale_groups
from .results import LawInputError

__all__ = ["Sigmoid", "fit_sigmoid", "sigmoid", "TwoStepBootstrap", "two_step_bootstrap", "joint_internal"]


def sigmoid(theta: np.ndarray, L: np.ndarray, increasing: bool) -> np.ndarray:
    """theta (..., 4) = (low, high, k, L0) broadcast against L."""
    theta = np.asarray(theta, float)
    low, high, k, L0 = (theta[..., i, None] if theta.ndim > 1 else theta[i] for i in range(4))
    z = k * (np.asarray(L, float) - L0)
    return low + (high - low) * expit(z if increasing else -z)


def _to_u(theta: np.ndarray, floor: float | None) -> np.ndarray:
    """Unconstrained coordinates: low = floor or expit(u0), high = low + (1 - low) expit(u1), k = exp(u2), L0 = u3."""
    low, high, k, L0 = np.moveaxis(np.asarray(theta, float), -1, 0)
    frac = np.clip((high - low) / np.maximum(1 - low, 1e-12), 1e-9, 1 - 1e-9)
    u0 = np.zeros_like(low) if floor is not None else logit(np.clip(low, 1e-9, 1 - 1e-9))
    return np.stack([u0, logit(frac), np.log(k), L0], axis=-1)


def _from_u(u: np.ndarray, floor: float | None) -> np.ndarray:
    low = np.full(u.shape[:-1], floor) if floor is not None else expit(u[..., 0])
    high = low + (1 - low) * expit(u[..., 1])
    return np.stack([low, high, np.exp(u[..., 2]), u[..., 3]], axis=-1)


def _sigmoid_residuals(L: np.ndarray, acc: np.ndarray, increasing: bool, floor: float | None):
    sign = 1.0 if increasing else -1.0

    def fun(u: np.ndarray, _idx=None):
        low = np.full(len(u), floor) if floor is not None else expit(u[:, 0])
        q = expit(u[:, 1])
        high = low + (1 - low) * q
        k, L0 = np.exp(u[:, 2]), u[:, 3]
        s = expit(sign * k[:, None] * (L[None, :] - L0[:, None]))
        pred = low[:, None] + (high - low)[:, None] * s
        ds = s * (1 - s)
        span = (high - low)[:, None]
        d_low = 1 - q[:, None] * s  # pred = low + (1 - low) q s
        J = np.stack([
            np.zeros_like(pred) if floor is not None else (d_low * (low * (1 - low))[:, None]),
            ((1 - low) * q * (1 - q))[:, None] * s,
            span * ds * sign * (L[None, :] - L0[:, None]) * k[:, None],
            -span * ds * sign * k[:, None],
        ], axis=-1)
        return pred - acc[None, :], J
    return fun


@dataclass(frozen=True)
class Sigmoid:
    theta: np.ndarray       # (low, high, k, L0)
    increasing: bool
    floor: float | None
    residual_sd: float
    converged: bool

    def __call__(self, L) -> np.ndarray:
        return sigmoid(self.theta, L, self.increasing)


def _starts(L: np.ndarray, acc: np.ndarray, floor: float | None) -> np.ndarray:
    span = max(float(np.ptp(L)), 1e-3)
    low0 = floor if floor is not None else max(float(acc.min()) - 0.02, 0.0)
    highs = [min(float(acc.max()) + d, 1.0) for d in (0.02, 0.15, 0.4)]
    starts = [(low0, max(h, low0 + 1e-3), k / span, L0) for h in highs for k in (2.0, 6.0, 15.0)
              for L0 in np.quantile(L, [0.1, 0.5, 0.9])]
    return np.array(starts)


def fit_sigmoid(L, acc, *, increasing: bool, floor: float | None = None) -> Sigmoid:
    """Least-squares sigmoid of the metric in task loss, from a grid of starts."""
    L, acc = np.asarray(L, float), np.asarray(acc, float)
    n_params = 3 + (floor is None)
    if len(L) <= n_params:
        raise LawInputError("runs", f"step 2 needs more than {n_params} runs with both a task loss and a metric; got {len(L)}")
    if floor is not None and np.median(acc) <= floor:  # the sigmoid lives in [floor, 1]: no span left to fit
        raise LawInputError("floor", f"floor {floor:g} is at or above the median metric ({np.median(acc):.4g}) of the "
                                     "runs: the metric runs from floor (the chance level) up to 1, so give the chance "
                                     "level (e.g. 0.25 for four-way multiple choice) or leave floor out to fit it")
    fun = _sigmoid_residuals(L, acc, increasing, floor)
    U0 = _to_u(_starts(L, acc, floor), floor)
    res = batched_lm(fun, U0, np.ones((len(U0), len(L))))
    best = int(np.nanargmin(np.where(np.isfinite(res.cost), res.cost, np.inf)))
    u = res.theta[best]
    polished = least_squares(lambda v: fun(v[None])[0][0], u, jac=lambda v: fun(v[None])[1][0], method="lm", xtol=1e-14,
                             ftol=1e-14, gtol=1e-14)
    u = polished.x if polished.cost * 2 <= res.cost[best] else u
    theta = _from_u(u, floor)
    if not np.all(np.isfinite(theta)):  # a step (k -> inf) fits the metric better than any sigmoid
        raise LawInputError("runs", "step 2 found no finite sigmoid of the metric in task loss (its slope k ran to "
                                    "infinity: the metric jumps between two values); give rungs between the jump")
    resid = sigmoid(theta, L, increasing) - acc
    dof = max(len(L) - (3 + (floor is None)), 1)
    return Sigmoid(theta, increasing, floor, float(np.sqrt(resid @ resid / dof)), bool(polished.success or res.converged[best]))


def joint_internal(params: dict) -> np.ndarray:
    return np.array([np.log(max(params["E"], 1e-12)), np.log(params["A"]), np.log(params["B"]), params["alpha"], params["beta"]])


def _joint_residuals(X: np.ndarray, y: np.ndarray):
    lnN, lnD, lny = np.log(X[:, 0]), np.log(X[:, 1]), np.log(y)

    def fun(z: np.ndarray, _idx=None):
        E = np.exp(z[:, 0])[:, None]
        tN = np.exp(z[:, 1, None] - z[:, 3, None] * lnN[None, :])
        tD = np.exp(z[:, 2, None] - z[:, 4, None] * lnD[None, :])
        pred = E + tN + tD
        J = np.stack([E + 0 * pred, tN, tD, -tN * lnN[None, :], -tD * lnD[None, :]], axis=-1) / pred[..., None]
        return np.log(pred) - lny[None, :], J
    return fun


def joint_from_internal(z: np.ndarray) -> np.ndarray:
    """(B, 5) internal -> public (E, A, B, alpha, beta)."""
    return np.column_stack([np.exp(z[:, 0]), np.exp(z[:, 1]), np.exp(z[:, 2]), z[:, 3], z[:, 4]])


@dataclass(frozen=True)
class TwoStepBootstrap:
    joint: np.ndarray        # (B_ok, 5) public joint-law replicates
    sigmoid: np.ndarray      # (B_ok, 4) sigmoid replicates
    n_boot: int
    n_failed: int
    clustered: bool
    seed: int


def _resample_weights(groups: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap counts (B, n): scales with replacement, then runs within each chosen scale (all replicates at once)."""
    labels, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.ravel(), kind="stable")          # runs listed scale by scale
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    k, n = len(labels), len(groups)
    chosen = rng.integers(0, k, size=(n_boot, k))                 # (B, k) scales drawn
    slots = np.arange(sizes.max())
    within = (rng.random((n_boot, k, len(slots))) * sizes[chosen][..., None]).astype(int)
    runs = order[np.minimum(offsets[chosen][..., None] + within, n - 1)]
    valid = slots[None, None, :] < sizes[chosen][..., None]       # a scale of m runs contributes m draws
    rows = np.broadcast_to(np.arange(n_boot)[:, None, None], runs.shape)
    return np.bincount((rows * n + runs)[valid], minlength=n_boot * n).reshape(n_boot, n).astype(float)


CHUNK_CELLS = 400_000  # replicates x runs refitted at once: bounds the (B, n, p) Jacobians in memory


def two_step_bootstrap(X: np.ndarray, y: np.ndarray, acc: np.ndarray, joint_params: dict, step2: Sigmoid, *,
                       n_boot: int, seed: int) -> TwoStepBootstrap:
    """Refit both steps on the same resamples of runs. acc may hold NaN for runs without a metric (step 1 only)."""
    rng = np.random.default_rng(seed)
    groups = scale_groups(X)
    has = np.isfinite(acc)
    fun1 = _joint_residuals(X, y)
    fun2 = _sigmoid_residuals(y[has], acc[has], step2.increasing, step2.floor)
    z1, u2 = joint_internal(joint_params), _to_u(step2.theta, step2.floor)
    joints, sigs = [], []
    chunk = max(1, CHUNK_CELLS // len(y))
    for start in range(0, n_boot, chunk):
        W = _resample_weights(groups, min(chunk, n_boot - start), rng)
        j = batched_lm(fun1, np.tile(z1, (len(W), 1)), W)
        s = batched_lm(fun2, np.tile(u2, (len(W), 1)), W[:, has])
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged replicate is dropped below, not used
            joint, sig = joint_from_internal(j.theta), _from_u(s.theta, step2.floor)
        ok = j.converged & s.converged & np.all(np.isfinite(joint), axis=1) & np.all(np.isfinite(sig), axis=1)
        joints.append(joint[ok])
        sigs.append(sig[ok])
    joint, sig = np.concatenate(joints), np.concatenate(sigs)
    if len(joint) < 2:
        raise LawInputError("bootstrap", f"fewer than 2 of {n_boot} bootstrap replicates converged in both steps: "
                                         "the runs do not identify the two steps; add rungs or check the data")
    return TwoStepBootstrap(joint, sig, n_boot, n_boot - len(joint), bool(len(np.unique(groups)) < len(y)), seed)
