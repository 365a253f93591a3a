"""Nonparametric bootstrap of a fit, clustered by scale.

Runs at the same inputs (the same N and D, say) are replicates of one scale that differ
only by seed. Resampling runs as if independent would understate the uncertainty when
seeds exist, so each replicate resamples whole scales with replacement, then seeds within
each chosen scale (a two-stage cluster bootstrap). Without replicates this is the
ordinary bootstrap over runs (Besiroglu et al. 2024 used 4,000 such resamples).

Each replicate is polished from the full-data optimum (a warm start: a resample moves
the optimum a little, not to another basin; the replicates of a batch together, as the full
design weighted by their counts, laws.fit.batch), with the design's start grid, made once, checked
for a start that beats it; its convergence is checked and counted, and a replicate that does
not converge is refitted with the global search before it is dropped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from .fit import FitResult, Refitter, fit
from .fit.batch import BATCH, refit_many
from .forms import LawForm, as_design
from .parallel import BATCH_REFIT_S, check_jobs, chunked, resolve_jobs, run_chunks
from .results import Diagnostic, Interval, LawInputError

__all__ = ["BootstrapResult", "bootstrap", "scale_groups", "MAX_BOOTSTRAP"]

MAX_BOOTSTRAP = 10_000


@dataclass(frozen=True)
class BootstrapResult:
    form: LawForm
    values: np.ndarray       # (n_ok, p) public parameters of converged replicates
    n_boot: int              # replicates asked for
    n_done: int              # replicates run (less than n_boot if the time bound hit)
    n_failed: int            # replicates that did not converge even when retried (excluded)
    n_groups: int            # distinct scales resampled
    clustered: bool          # True when some scale had several runs (seeds)
    seed: int
    elapsed_s: float
    truncated: bool
    n_retried: int = 0       # replicates whose warm polish failed and were refitted with the global search
    n_starts: int = 0        # polishes run over all replicates: the full-data optimum plus grid starts that beat it

    @property
    def se(self) -> np.ndarray:
        return np.std(self.values, axis=0, ddof=1)

    @property
    def covariance(self) -> np.ndarray:
        return np.cov(self.values, rowvar=False)

    def interval(self, name: str, level: float = 0.95) -> Interval:
        """Percentile interval of one parameter."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1); got {level!r}")
        i = self.form.param_names.index(name)
        tail = (1 - level) / 2
        lo, hi = np.quantile(self.values[:, i], [tail, 1 - tail])
        return Interval(float(lo), float(hi), level)

    def predict(self, X) -> np.ndarray:
        """Predictions of every replicate at X, shape (n_ok, n)."""
        X = as_design(self.form, X)
        internal = self.form.internal(self.values)
        return np.array([self.form.predict_internal(v, X) for v in internal])

    @property
    def diagnostics(self) -> list[Diagnostic]:
        out = []
        if self.n_failed > max(1, 0.01 * self.n_done):
            out.append(Diagnostic("bootstrap_nonconvergence",
                                  f"{self.n_failed} of {self.n_done} bootstrap replicates did not converge even when refitted with the "
                                  f"global search ({self.n_retried} retried) and were excluded; intervals may be too narrow"))
        if self.truncated:
            out.append(Diagnostic("bootstrap_truncated",
                                  f"the time bound stopped the bootstrap after {self.n_done} of {self.n_boot} replicates"))
        if len(self.values) < 1000:
            out.append(Diagnostic("few_bootstrap_replicates",
                                  f"{len(self.values)} replicates; use at least 1,000 for reported intervals", severity="info"))
        return out

    def summary(self) -> dict:
        return {"n_boot": self.n_boot, "n_done": self.n_done, "n_used": int(len(self.values)),
                "n_failed": self.n_failed, "n_retried": self.n_retried, "n_recovered": self.n_retried - self.n_failed,
                "n_starts_polished": self.n_starts,
                "replicates": self.values.tolist(), "n_groups": self.n_groups, "clustered_by_scale": self.clustered,
                "seed": self.seed, "elapsed_s": self.elapsed_s, "truncated": self.truncated,
                "covariance": self.covariance.tolist()}


def scale_groups(X: np.ndarray) -> np.ndarray:
    """Group id per run: runs with identical inputs are seeds of one scale."""
    _, ids = np.unique(np.asarray(X, float), axis=0, return_inverse=True)
    return ids.ravel()


class _Scales:
    """The runs of each scale, listed scale by scale (order), with each scale's first slot and size."""

    def __init__(self, groups: np.ndarray):
        _, inverse, self.sizes = np.unique(groups, return_inverse=True, return_counts=True)
        self.order = np.argsort(inverse.ravel(), kind="stable")
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])

    def __len__(self) -> int:
        return len(self.sizes)

    def resample(self, rng: np.random.Generator) -> np.ndarray:
        """Run indices of one resample: scales with replacement, then runs with replacement within each."""
        chosen = rng.integers(0, len(self.sizes), size=len(self.sizes))
        sizes = self.sizes[chosen]
        start = np.repeat(self.offsets[chosen], sizes)
        within = (rng.random(int(sizes.sum())) * np.repeat(sizes, sizes)).astype(np.int64)
        return self.order[start + np.minimum(within, np.repeat(sizes, sizes) - 1)]


def _replicate_chunk(refitter: Refitter, result: FitResult, y, w, resamples, deadline: float) -> list:
    """Refit one chunk of resamples up to the deadline: (public values or None, retried) per resample."""
    rows = []
    for first in range(0, len(resamples), BATCH):  # a resample is the full design weighted by its counts
        batch = resamples[first:first + BATCH]
        counts = np.array([np.bincount(idx, minlength=len(y)) for idx in batch], float)
        W = counts if w is None else counts * w
        scalar = partial(_scalar_refit, refitter, result, y, w, batch, deadline)
        for j, res in enumerate(refit_many(refitter, np.tile(y, (len(batch), 1)), result.values, deadline, W, scalar)):
            if res.stopped:  # unfinished at the deadline: not a replicate
                return rows
            if res.converged:
                rows.append((res.values, False, res.n_starts))
            else:  # retry with the global search, the full-data optimum among its starts, before dropping it
                idx = batch[j]
                rows.append((_refit(result, refitter.X[idx], y[idx], None if w is None else w[idx]), True, res.n_starts))
        if time.time() > deadline:
            break
    return rows


def _scalar_refit(refitter: Refitter, result: FitResult, y, w, batch, deadline, j):
    """The resample j of a batch refitted on its own (the batch polish did not settle it)."""
    idx = batch[j]
    return refitter.refit(y[idx], [result.values], weights=None if w is None else w[idx], rows=idx, deadline=deadline)


def bootstrap(result: FitResult, X, y, *, weights=None, n_boot: int = 1000, seed: int = 0,
              groups=None, time_limit_s: float = 120.0,
              progress: Callable[[int, int, str], None] | None = None, n_jobs: int | None = None) -> BootstrapResult:
    """Bootstrap a fit: returns replicate parameters, percentile intervals and covariance.

    The resamples are drawn here, in order, from one generator seeded by `seed`; the refits run
    on every core when the work pays for it (laws.parallel), or as a joblib.parallel_config says,
    with the same replicates either way."""
    form = result.form
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise LawInputError("bootstrap", f"bootstrap must be an integer >= 2 (replicates); got {n_boot!r}")
    if n_boot > MAX_BOOTSTRAP:
        raise LawInputError("bootstrap", f"bootstrap must be <= {MAX_BOOTSTRAP} replicates (the cap); got {n_boot}")
    check_jobs(n_jobs)
    X = as_design(form, X)
    y = np.asarray(y, float)
    w = None if weights is None else np.asarray(weights, float)
    groups = scale_groups(X) if groups is None else np.asarray(groups)
    scales = _Scales(groups)
    rng = np.random.default_rng(seed)
    resamples = [scales.resample(rng) for _ in range(n_boot)]
    refitter = Refitter(form, X, objective=result.objective_name, delta=result.delta, grid_starts=1, reference=y, weights=w)
    jobs = resolve_jobs(n_jobs, n_boot, time_limit_s, BATCH_REFIT_S)
    rows: list = []
    every = max(1, n_boot // 20)
    start = time.perf_counter()

    def consume(chunk) -> bool:
        before = len(rows)
        rows.extend(chunk)
        if progress is not None and (len(rows) // every > before // every or len(rows) == n_boot):
            progress(len(rows), n_boot, f"bootstrap replicate {len(rows)} of {n_boot}")
        return False

    run_chunks(partial(_replicate_chunk, refitter, result, y, w), chunked(resamples, jobs, BATCH), jobs, consume,
               time.time() + time_limit_s)
    return _result(result, rows, n_boot, len(scales), len(y), seed, time.perf_counter() - start, time_limit_s)


def _result(result: FitResult, rows: list, n_boot: int, n_groups: int, n_runs: int, seed: int,
            elapsed: float, time_limit_s: float) -> BootstrapResult:
    values = [r[0] for r in rows if r[0] is not None]
    failed, retried = len(rows) - len(values), sum(r[1] for r in rows)
    truncated = len(rows) < n_boot
    if len(values) < 2:
        why = (f"the time bound ({time_limit_s:g} s) stopped the bootstrap after {len(rows)} replicates; raise time_limit_s"
               if truncated else "fewer than 2 bootstrap replicates converged; the law is not identified by these data")
        raise LawInputError("bootstrap", why)
    return BootstrapResult(result.form, np.array(values), n_boot, len(rows), failed, n_groups,
                           bool(n_groups < n_runs), seed, elapsed, truncated, retried,
                           int(sum(r[2] for r in rows)))


def _refit(result: FitResult, X, y, w) -> np.ndarray | None:
    """The global fitter on a resample, with the full-data optimum as an extra start."""
    try:
        res = fit(result.form, X, y, objective=result.objective_name, delta=result.delta, weights=w,
                  starts=[result.values], top_starts=2)
    except (LawInputError, ValueError):
        return None
    return res.values if res.converged else None
