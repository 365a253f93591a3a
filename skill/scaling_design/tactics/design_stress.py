"""budget_constrained_design's stress check: does the design hold when its law is wrong?

The Monte Carlo check simulates from the prior law, the law the design was chosen for, so it
cannot see the design's weak point: a pool whose law bends differently. This check simulates
each design's runs from families other than the joint law (the joint law whose data exponent
drifts up or down with N, joint_nbeta at gamma = +-0.15, equal to the prior at N = 1e9, and a
Farseer law near the prior whose data exponent rises with N), fits each simulated study as the user will
(the joint law) and scores the loss predicted at the target. Every design is
compared with random picks of the same cost (a fresh draw per simulation): a design that
loses to random picks under most truths is no better than not designing, and says so.
"""
from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel, Field

from ..laws.forms import get_form
from ..laws.robust_design import misspecified_errors, random_within_budget
from ..laws.simulate import NoiseModel
from ..sops.design_matrix_construction import StepWarning

__all__ = ["StressRow", "StressCheck", "stress_check", "stress_truths", "STRESS_GAMMAS", "FARSEER_DRIFT",
           "regime_warnings"]

STRESS_GAMMAS = (0.15, -0.15)   # joint_nbeta drifts beyond the hedge's own +-0.1
FARSEER_DRIFT = 0.05            # Farseer c1: the data exponent x e^(0.05 bc(n, -0.3)), x0.7 at 2e7, x1.2 at large N
REGIME_FACTOR = 3.0             # target D/N outside [min/3, 3 max] of the largest chosen runs: off regime


class StressRow(BaseModel):
    truth: str = Field(description="The law the losses were simulated from.")
    design: str = Field(description="selected, or random (same cost, a fresh draw per simulation).")
    median_abs_log_error: float | None = Field(description="Median |log L_hat - log L| at the target (relative "
                                                           "error of the predicted loss); None when no refit worked.")
    p90_abs_log_error: float | None = Field(description="Its 90th percentile.")
    sims: int = Field(description="Simulated studies scored.")


class StressCheck(BaseModel):
    fit: str = Field(description="How each simulated study was fitted.")
    truths: list[str] = Field(description="The laws simulated from (the prior first).")
    rows: list[StressRow] = Field(description="One row per truth and design.")
    selected_beats_random: int = Field(description="Truths under which the selected design's median error is at "
                                                   "most random picks' (both scored).")
    truncated: bool = Field(description="The time bound cut some simulations.")
    elapsed_s: float = Field(description="Seconds spent.")


def stress_truths(params: dict[str, float]) -> list[tuple[str, str, np.ndarray]]:
    """(label, form name, parameters) of each truth: the prior, then the families it does not assume."""
    joint_form = get_form("chinchilla")
    joint = joint_form.as_array(params)
    out = [("prior (joint law)", "chinchilla", joint)]
    _, to_nbeta = get_form("joint_nbeta").seed_from
    for gamma in STRESS_GAMMAS:
        values = to_nbeta(joint)
        values[-1] = gamma
        out.append((f"joint_nbeta gamma {gamma:+g}", "joint_nbeta", values))
    _, to_farseer = get_form("farseer").seed_from
    values = to_farseer(joint)
    values[6] = FARSEER_DRIFT  # c1: the data exponent rises with N
    out.append((f"farseer c1 {FARSEER_DRIFT:+g}", "farseer", values))
    return out


def stress_check(params: dict[str, float], X: np.ndarray, Xt: np.ndarray, costs: np.ndarray, budget: float,
                 designs: list[tuple[str, np.ndarray]], noise: NoiseModel, n_sims: int, time_limit_s: float,
                 seed: int, done_X: np.ndarray | None = None) -> StressCheck:
    """Score every design (and random picks of the same cost) under every stress truth; runs
    already done (done_X) are part of every simulated study."""
    start = time.perf_counter()
    deadline = start + time_limit_s
    fit_form = get_form("chinchilla")
    warm = fit_form.as_array(params)
    done = np.zeros((0, 2)) if done_X is None else np.asarray(done_X, float).reshape(-1, 2)
    done_idx = np.arange(len(X), len(X) + len(done))
    X = np.vstack([X, done])
    named = [(n, (lambda k, i=np.concatenate([i, done_idx]): i)) for n, i in designs]
    rows, truncated = [], False
    for t, (label, name, values) in enumerate(stress_truths(params)):
        rng_random = np.random.default_rng([seed, t, 1])
        randoms = [np.concatenate([random_within_budget(costs, budget, rng_random), done_idx]) for _ in range(n_sims)]
        for d, (design, pick) in enumerate(named + [("random", lambda k, r=randoms: r[k])]):
            errs, cut = misspecified_errors(fit_form, warm, get_form(name), values, X, Xt, noise,
                                            np.random.default_rng([seed, t, 2, d]), pick, n_sims, deadline)
            truncated |= cut
            ok = errs[np.isfinite(errs)]
            rows.append(StressRow(truth=label, design=design,
                                  median_abs_log_error=float(np.median(ok)) if ok.size else None,
                                  p90_abs_log_error=float(np.quantile(ok, 0.9)) if ok.size else None, sims=int(ok.size)))
    truths = list(dict.fromkeys(r.truth for r in rows))
    return StressCheck(fit="the joint law (chinchilla) on log loss (ls-log, a fraction of huber-log's cost on data "
                           "the law does not fit), warm-started at the prior", truths=truths,
                       rows=rows, selected_beats_random=sum(_beats(rows, t) for t in truths), truncated=truncated,
                       elapsed_s=time.perf_counter() - start)


def _median(rows: list[StressRow], truth: str, design: str) -> float | None:
    return next((r.median_abs_log_error for r in rows if r.truth == truth and r.design == design), None)


def _beats(rows: list[StressRow], truth: str) -> bool:
    sel, rnd = _median(rows, truth, "selected"), _median(rows, truth, "random")
    return sel is not None and rnd is not None and sel <= rnd


def stress_warnings(check: StressCheck, warnings: list[StepWarning]) -> None:
    """Coded warnings when the design loses to random picks under most truths, or its check was cut."""
    scored = [t for t in check.truths if _median(check.rows, t, "selected") is not None
              and _median(check.rows, t, "random") is not None]
    losing = [t for t in scored if not _beats(check.rows, t)]
    if losing and len(losing) * 2 > len(scored):
        warnings.append(StepWarning(code="random_design_better", severity="warning", message=(
            f"under {len(losing)} of {len(scored)} simulated laws ({', '.join(losing)}) random picks of the same "
            "cost predicted the target better than the selected runs: the design rests on its prior law; widen the "
            "pool toward the target or keep hedge=true")))
    if check.truncated:
        warnings.append(StepWarning(code="stress_check_truncated", severity="info", message=(
            "the stress check hit its time bound; its figures rest on fewer simulations than asked")))


def regime_warnings(chosen: np.ndarray, Xt: np.ndarray, warnings: list[StepWarning]) -> None:
    """Warn when the largest chosen runs sit far from the target's tokens per parameter: the fit then
    extrapolates in D/N as well as in scale."""
    if not len(chosen) or not len(Xt):
        return
    logn = np.log(chosen[:, 0])
    top = chosen[logn >= np.quantile(logn, 2 / 3)]
    ratios = top[:, 1] / top[:, 0]
    target = float(Xt[0, 1] / Xt[0, 0])
    lo, hi = float(ratios.min()), float(ratios.max())
    if target < lo / REGIME_FACTOR or target > hi * REGIME_FACTOR:
        warnings.append(StepWarning(code="picks_outside_target_regime", severity="warning", message=(
            f"the largest chosen runs train {lo:.3g}-{hi:.3g} tokens per parameter; the target trains {target:.3g}: "
            "the fit extrapolates in D/N as well as in scale; add large runs near the target's ratio "
            "(candidates or tokens_per_param range)")))
