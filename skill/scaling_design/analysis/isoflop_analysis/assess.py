"""isoflop_analysis: how far approach 2 and the joint fit agree, what following each costs, and
how each predicts a held-out budget."""
from __future__ import annotations

import numpy as np

from ...laws import allocation, isoflop
from ...laws.fit import FitResult
from .models import Agreement, Band, Frontier, Regret, Validation

AGREE_RATIO = 1.05   # without intervals, N_opt within 5% counts as agreement
SHARE_RATIO = 1.02   # below a 2% gap, the share of it the bias explains is not reported


def _overlap(a: Band | None, b: Band | None) -> bool | None:
    if a is None or b is None:
        return None
    return bool(a.low <= b.high and b.low <= a.high)


def _inside(value: float, band: Band | None) -> bool:
    return band is not None and band.low <= value <= band.high


def agreement(a2: Frontier, corrected: Frontier, joint: Frontier, log_bias_t: float) -> Agreement:
    ratio, ratio_c = a2.N_opt / joint.N_opt, corrected.N_opt / joint.N_opt
    overlap = _overlap(a2.N_opt_interval, joint.N_opt_interval)
    gap = np.log(ratio)
    explains = float(log_bias_t / gap) if abs(gap) > np.log(SHARE_RATIO) else None  # a share of a real gap only
    consistent = overlap if overlap is not None else abs(gap) <= np.log(AGREE_RATIO)
    if consistent:
        verdict = "agree"
        statement = (f"approach 2 and the joint fit agree at the target: N_opt ratio {ratio:.3g}"
                     + (" (intervals overlap)" if overlap else ""))
    elif abs(np.log(ratio_c)) <= np.log(AGREE_RATIO) or _inside(corrected.N_opt, joint.N_opt_interval):
        verdict = "bias_explains_gap"
        statement = (f"approach 2 puts N_opt at {ratio:.3g}x the joint fit's; corrected for its estimated bias on this grid the "
                     f"ratio is {ratio_c:.3g}: the gap is the parabola's, trust the joint fit or the corrected vertices")
    else:
        verdict = "disagree"
        statement = (f"approach 2 puts N_opt at {ratio:.3g}x the joint fit's ({ratio_c:.3g}x after its bias correction): the "
                     "joint law does not describe these profiles well, or the grid misses the optimum; run a budget "
                     "nearer the target, or check the profiles' curvature and the joint fit's residuals")
    return Agreement(N_opt_ratio=float(ratio), N_opt_ratio_bias_corrected=float(ratio_c),
                     exponent_difference=float(a2.exponent_a - joint.exponent_a), intervals_overlap=overlap,
                     bias_explains=explains, verdict=verdict, statement=statement)


def curvature_at(compute: np.ndarray, curvatures: np.ndarray, target: float) -> float | None:
    """Approach 2's curvature in ln N extrapolated to the target as a power law in C."""
    if np.any(curvatures <= 0):
        return None
    law = isoflop.fit_power_law(np.log(compute), np.log(curvatures))
    return float(law(target))


def regrets(frontiers: list[Frontier], res: FitResult, reps: np.ndarray | None, target: float,
            curvature_t: float | None, level: float) -> list[Regret]:
    N = np.array([f.N_opt for f in frontiers])
    central = isoflop.regret(res.params, target, N)[0]
    boot = isoflop.regret(reps, target, N) if reps is not None else None
    a2 = next(f.N_opt for f in frontiers if f.method == "approach2")
    out = []
    for j, f in enumerate(frontiers):
        extra = {}
        if boot is not None:
            tail = (1 - level) / 2
            lo, hi = np.quantile(boot[:, j], [tail, 1 - tail])
            extra = {"under_joint_expected": float(np.mean(boot[:, j])),
                     "under_joint_interval": Band(low=float(lo), high=float(hi), level=level)}
        own = 0.5 * curvature_t * np.log(f.N_opt / a2) ** 2 if curvature_t is not None else None
        out.append(Regret(method=f.method, N=float(f.N_opt), under_joint=float(max(central[j], 0.0)),
                          under_approach2_profile=own, **extra))
    return out


def validate(val_X: np.ndarray | None, val_y: np.ndarray | None, groups, frontiers: list[Frontier],
             res: FitResult, target: float) -> list[Validation]:
    """Each held-out budget: its own vertex against each method's N_opt there; the joint law's loss errors."""
    if val_X is None:
        return []
    out = []
    for labels_mask, C in groups:
        X, y = val_X[labels_mask], val_y[labels_mask]
        predicted = {f.method: float(f.N_opt * (C / target) ** f.exponent_a) for f in frontiers if f.method != "joint"}
        predicted["joint"] = float(allocation.compute_optimal(res.params, C)["N_opt"])
        observed = corrected = None
        if len(np.unique(X[:, 0])) >= isoflop.MIN_POINTS:
            p = isoflop.fit_parabola(np.log(X[:, 0]), y, C)
            if p.convex:
                bias = isoflop.implied_vertices(res.params, [p], [(X[:, 0], X[:, 1])])[0, 0] - \
                    isoflop.exact_log_optimum(res.params, np.array([C]))[0, 0]
                observed, corrected = float(np.exp(p.log_vertex)), float(np.exp(p.log_vertex - bias))
        out.append(Validation(
            compute=float(C), n_runs=len(y), observed_N_opt=observed, observed_N_opt_bias_corrected=corrected,
            predicted=predicted, relative_error={k: v / observed - 1 for k, v in predicted.items()} if observed else {},
            relative_error_bias_corrected={k: v / corrected - 1 for k, v in predicted.items()} if corrected else {},
            joint_loss_errors=[float(e) for e in res.predict(X) / y - 1]))
    return out

