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
from functools import partial
from typing import Callable

import numpy as np

from .fit import Refitter
from .fit.batch import BATCH, refit_many
from .forms import LawForm, as_design, get_form
from .parallel import BATCH_REFIT_S, check_jobs, chunked, resolve_jobs, run_chunks
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
    n_starts: np.ndarray | None = None  # (n_done,) polishes per refit: the truth plus grid starts that beat it
    n_grid: int = 0                     # variable-projection starts projected for every refit (the best on the truth)

    def param(self, name: str) -> np.ndarray:
        if name not in self.param_names:
            raise KeyError(f"name must be one of {list(self.param_names)}; got {name!r}")
        return self.values[:, self.param_names.index(name)]

    def relative_errors(self, name: str) -> np.ndarray:
        i = self.param_names.index(name)
        return self.values[:, i] / self.truth[i] - 1.0


def _refit_chunk(refitter: Refitter, truth, clean, noise: NoiseModel, seeds, deadline: float) -> list:
    """Simulate and refit one chunk of data sets (one child seed each), up to the deadline."""
    rows = []
    for first in range(0, len(seeds), BATCH):  # batches of BATCH: a deadline loses at most the batch it cuts
        Y = np.array([noise.sample(clean, np.random.default_rng(child)) for child in seeds[first:first + BATCH]])
        for res in refit_many(refitter, Y, truth, deadline=deadline):
            if res.stopped:  # unfinished at the deadline: not a result
                return rows
            rows.append((res.values, res.converged, res.n_starts))
        if time.time() > deadline:
            break
    return rows


def monte_carlo(form: LawForm | str, params, X, *, noise: NoiseModel = NoiseModel(), n_sims: int = 200,
                seed: int = 0, objective: str = "huber-log", delta: float = 1e-3, time_limit_s: float = 60.0,
                progress: Callable[[int, int, str], None] | None = None,
                top_starts: int = 1, n_jobs: int | None = None) -> MonteCarloResult:
    """Simulate `n_sims` data sets at design X from the law `params` and refit each.

    Each refit is the study's fitter prepared once for the design (laws.fit.Refitter): polished
    from the truth (the data sets of a chunk together, laws.fit.batch), with the best `top_starts`
    variable-projection starts polished too when one beats it. n_jobs=None runs on every core when the work pays for it (laws.parallel), or as a
    joblib.parallel_config says. Every simulation has its own child seed, so results do not
    depend on n_jobs. Stops at `time_limit_s` and says so (truncated=True).
    """
    form = get_form(form) if isinstance(form, str) else form
    _check_counts(n_sims, n_jobs)
    X = as_design(form, X)
    truth = form.as_array(params)
    clean = form.predict(truth, X)
    refitter = Refitter(form, X, objective=objective, delta=delta, grid_starts=top_starts, reference=clean)
    jobs = resolve_jobs(n_jobs, n_sims, time_limit_s, BATCH_REFIT_S)
    start, results = time.perf_counter(), []

    def consume(rows) -> bool:
        results.extend(rows)
        if progress is not None:
            progress(len(results), n_sims, f"simulated and refitted {len(results)} of {n_sims} data sets")
        return False

    work = partial(_refit_chunk, refitter, truth, clean, noise)
    run_chunks(work, chunked(np.random.SeedSequence(seed).spawn(n_sims), jobs, BATCH), jobs, consume,
               time.time() + time_limit_s)
    values = np.array([r[0] for r in results]).reshape(len(results), len(truth))
    return MonteCarloResult(form.name, form.param_names, truth, values, np.array([r[1] for r in results], bool),
                            n_sims, len(results), len(results) < n_sims, time.perf_counter() - start, seed,
                            np.array([r[2] for r in results], int), len(refitter.grid))


def _check_counts(n_sims, n_jobs) -> None:
    if not isinstance(n_sims, (int, np.integer)) or n_sims < 1:
        raise LawInputError("n_sims", f"n_sims must be a positive integer; got {n_sims!r}")
    if n_sims > MAX_SIMULATIONS:
        raise LawInputError("n_sims", f"n_sims must be <= {MAX_SIMULATIONS} (the cap on simulations); got {n_sims}")
    check_jobs(n_jobs)
