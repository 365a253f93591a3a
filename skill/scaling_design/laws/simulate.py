"""Noise models and Monte Carlo refits with the real fitter.

Sample-size estimation and budget-constrained design both ask the same question: if the
truth were this law and the runs were these, how far off would the fitted quantity be?
They answer it here, once: simulate losses from a prior law plus a noise model, refit
each data set exactly as the study will (same fitter, objective and delta), and return
the fitted parameters.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .fit import fit
from .forms import LawForm, as_design, get_form
from .results import LawInputError

__all__ = ["NoiseModel", "MonteCarloResult", "simulate_losses", "monte_carlo", "MAX_SIMULATIONS"]

MAX_SIMULATIONS = 20_000
NOISE_KINDS = ("log-constant", "absolute", "loss-dependent")


@dataclass(frozen=True)
class NoiseModel:
    """Run-to-run noise on the final loss.

    log-constant:   log L_obs = log L + N(0, sigma)   (sigma relative; default 0.0075, the
                    rms log residual of the joint law on Hoffmann's points, Besiroglu et al. 2024)
    absolute:       L_obs = L + N(0, sigma)           (sigma in nats; seed noise ~0.002, Porian et al. 2024)
    loss-dependent: L_obs = L + N(0, sigma (L / ref_loss)^power)  (noise grows with loss, as Porian
                    et al. 2024 observe)
    """

    kind: str = "log-constant"
    sigma: float = 0.0075
    ref_loss: float = 3.0
    power: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise LawInputError("noise.kind", f"noise.kind must be one of {list(NOISE_KINDS)}; got {self.kind!r}")
        if not (np.isfinite(self.sigma) and self.sigma >= 0):
            raise LawInputError("noise.sigma", f"noise.sigma must be a finite number >= 0; got {self.sigma!r}")
        if not self.ref_loss > 0:
            raise LawInputError("noise.ref_loss", f"noise.ref_loss must be > 0; got {self.ref_loss!r}")

    def sd_of_loss(self, loss: np.ndarray) -> np.ndarray:
        """Standard deviation of the observed loss (nats) at true loss `loss`."""
        loss = np.asarray(loss, float)
        if self.kind == "log-constant":
            return self.sigma * loss
        if self.kind == "absolute":
            return np.full_like(loss, self.sigma)
        return self.sigma * (loss / self.ref_loss) ** self.power

    def sample(self, loss: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        loss = np.asarray(loss, float)
        eps = rng.standard_normal(loss.shape)
        if self.kind == "log-constant":
            return loss * np.exp(self.sigma * eps)
        # additive noise can in principle cross zero; keep losses positive for log-space fits
        return np.maximum(loss + self.sd_of_loss(loss) * eps, 1e-6 * loss)


def simulate_losses(form: LawForm | str, params, X, noise: NoiseModel, rng: np.random.Generator) -> np.ndarray:
    form = get_form(form) if isinstance(form, str) else form
    return noise.sample(form.predict(params, X), rng)


@dataclass(frozen=True)
class MonteCarloResult:
    form: str
    param_names: tuple[str, ...]
    truth: np.ndarray
    values: np.ndarray        # (n_done, p) fitted public parameters
    converged: np.ndarray     # (n_done,) bool
    n_requested: int
    n_done: int
    truncated: bool
    elapsed_s: float
    seed: int

    def param(self, name: str) -> np.ndarray:
        if name not in self.param_names:
            raise KeyError(f"name must be one of {list(self.param_names)}; got {name!r}")
        return self.values[:, self.param_names.index(name)]

    def relative_errors(self, name: str) -> np.ndarray:
        i = self.param_names.index(name)
        return self.values[:, i] / self.truth[i] - 1.0


def _refit_one(form: LawForm, truth, X, clean, noise, child_seed, objective, delta, top_starts):
    y = noise.sample(clean, np.random.default_rng(child_seed))
    try:
        res = fit(form, X, y, objective=objective, delta=delta, starts=[truth], top_starts=top_starts)
        return res.values, res.converged
    except LawInputError:  # a degenerate simulated data set counts as a failed fit
        return np.full(len(truth), np.nan), False


def _refit_chunk(args):
    form_name, truth, X, clean, noise, seeds, objective, delta, top_starts = args
    form = get_form(form_name)
    return [_refit_one(form, truth, X, clean, noise, s, objective, delta, top_starts) for s in seeds]


def monte_carlo(form: LawForm | str, params, X, *, noise: NoiseModel = NoiseModel(), n_sims: int = 200,
                seed: int = 0, objective: str = "huber-log", delta: float = 1e-3, time_limit_s: float = 60.0,
                progress: Callable[[int, int, str], None] | None = None,
                top_starts: int = 1, n_jobs: int = 1) -> MonteCarloResult:
    """Simulate `n_sims` data sets at design X from the law `params` and refit each.

    Each refit is the full fitter (variable-projection multi-start + polish) with the
    truth added as one more start, so a simulated fit lands where the real study's fit
    would; top_starts trades a little robustness for speed (the study itself uses 4).
    Every simulation has its own child seed, so results do not depend on n_jobs.
    Stops at `time_limit_s` and says so (truncated=True).
    """
    form = get_form(form) if isinstance(form, str) else form
    if not isinstance(n_sims, (int, np.integer)) or n_sims < 1:
        raise LawInputError("n_sims", f"n_sims must be a positive integer; got {n_sims!r}")
    if n_sims > MAX_SIMULATIONS:
        raise LawInputError("n_sims", f"n_sims must be <= {MAX_SIMULATIONS} (the cap on simulations); got {n_sims}")
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise LawInputError("n_jobs", f"n_jobs must be a positive integer; got {n_jobs!r}")
    X = as_design(form, X)
    truth = form.as_array(params)
    clean = form.predict(truth, X)
    seeds = np.random.SeedSequence(seed).spawn(n_sims)
    chunk = max(1, min(50, n_sims // (20 * n_jobs) or 1))
    batches = [seeds[i:i + chunk] for i in range(0, n_sims, chunk)]
    args = [(form.name, truth, X, clean, noise, b, objective, delta, top_starts) for b in batches]
    start = time.perf_counter()
    results: list = []
    truncated = False

    def consume(rows) -> bool:
        results.extend(rows)
        if progress is not None:
            progress(len(results), n_sims, f"simulated and refitted {len(results)} of {n_sims} data sets")
        return time.perf_counter() - start > time_limit_s and len(results) < n_sims

    if n_jobs == 1:  # the clock is read after every refit: a hard data set can take a second per refit
        for batch in batches:
            rows = []
            for child in batch:
                rows.append(_refit_one(form, truth, X, clean, noise, child, objective, delta, top_starts))
                if time.perf_counter() - start > time_limit_s:
                    break
            if consume(rows):
                truncated = True
                break
    else:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            futures = [pool.submit(_refit_chunk, a) for a in args]
            for fut in futures:
                if consume(fut.result()):
                    truncated = True
                    for f in futures:
                        f.cancel()
                    break
    values = np.array([r[0] for r in results]).reshape(len(results), len(truth))
    ok = np.array([r[1] for r in results], bool)
    return MonteCarloResult(form.name, form.param_names, truth, values, ok,
                            n_sims, len(results), truncated, time.perf_counter() - start, seed)
