"""The whole strategy (the scaling_design tool, in-process) on each built-in example.

Ours: as shipped (the Monte Carlo data sets of a batch polished together from the truth, with the
design's start grid and bases made once and a grid start polished only when it beats the
result; joblib workers when the work pays). Baseline, in the same run: batching, reuse and
parallelism switched off (every refit is the full global fit with the truth as an extra start,
one data set at a time; joblib held to one worker). Medians of --repeats runs.
The two must agree: the same verdict and replicate counts, and Monte Carlo error percentiles
within their own simulation error (the distribution-free 95% interval of the percentile).

    python bench/strategy_speed.py [--repeats 3] [--examples compute-optimal,model-scaling]
"""
from __future__ import annotations

import argparse
import math
import os
import time
from contextlib import contextmanager

import numpy as np
from joblib import parallel_config
from scipy.special import ndtri

from scaling_design.cli import example_names, load_example
from scaling_design.laws import bootstrap, simulate
from scaling_design.laws import fit as fit_pkg
from scaling_design.laws.fit import Refit, fit
from scaling_design.strategy import Input, run

GOALS = {"compute-optimal": 2.0, "model-scaling": 1.0, "data-scaling": 1.0}


@contextmanager
def reuse_and_parallelism_off():
    """Every refit is the full global fit (grid rebuilt, truth as an extra start), one data set at
    a time (no batch polish), on one worker."""
    original = fit_pkg.Refitter.refit

    def full_refit(self, y, warm, *, weights=None, rows=None, deadline=None):
        X = self.X if rows is None else self.X[rows]
        res = fit(self.form, X, y, objective=self.objective, delta=self.delta, weights=weights,
                  starts=list(warm), top_starts=self.grid_starts)
        return Refit(res.values, res.converged, res.objective, res.optimizer.n_polished)

    def one_by_one(refitter, Y, warm, deadline=None, weights=None, fallback=None):
        return [fallback(s) if fallback else refitter.refit(y, [warm], deadline=deadline) for s, y in enumerate(Y)]

    fit_pkg.Refitter.refit = full_refit
    patched = [(m, m.refit_many) for m in (simulate, bootstrap)]
    for module, _ in patched:
        module.refit_many = one_by_one
    try:
        with parallel_config(n_jobs=1):
            yield
    finally:
        fit_pkg.Refitter.refit = original
        for module, fn in patched:
            module.refit_many = fn


def timed(name: str, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = run(Input(**load_example(name)))
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def record(out) -> dict:
    """What must not change: the verdict, the replicate counts, and the Monte Carlo percentiles."""
    sse = out.sample_size_estimation
    curve = sse.fit_precision.curve if sse.fit_precision is not None else []
    return {"verdict": str(out.verdict), "replicates": out.summary.replicates, "n_runs": out.summary.n_runs,
            "curve": [(c.runs, c.error_percentile, c.n_sims) for c in curve], "percentile": sse.parameters.get("percentile", 0.9)}


def _within_simulation_error(a: float, b: float, n: int, q: float) -> bool:
    """Two q-quantiles of |relative error| from n simulations each agree within 1.96 sd of their
    difference; the sd of one is x_q sqrt(q (1 - q) / n) / (2 z phi(z)) for normal errors, z = x_q / s."""
    z = float(ndtri((1 + q) / 2))
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    sd_one = 0.5 * (a + b) * math.sqrt(q * (1 - q) / max(n, 1)) / (2 * z * phi)
    return abs(a - b) <= 1.96 * math.sqrt(2) * sd_one


def agree(ours: dict, base: dict) -> bool:
    same = ours["verdict"] == base["verdict"] and ours["replicates"] == base["replicates"] and ours["n_runs"] == base["n_runs"]
    if len(ours["curve"]) != len(base["curve"]):
        return False
    for (r1, e1, n1), (r2, e2, n2) in zip(ours["curve"], base["curve"]):
        same &= r1 == r2 and _within_simulation_error(e1, e2, min(n1, n2), ours["percentile"])
    return bool(same)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--examples", default=",".join(n for n in example_names()))
    args = ap.parse_args(argv)
    names = [n for n in args.examples.split(",") if n]
    print(f"command: python bench/strategy_speed.py --repeats {args.repeats} --examples {args.examples}   "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    run(Input(**load_example(names[0])))  # imports, caches and the worker pool, once
    print(f"{'example':18s} {'ours s':>8s} {'reuse+parallel off s':>21s} {'ratio':>6s}  goal   same answer")
    for name in names:
        t_ours, ours = timed(name, args.repeats)
        with reuse_and_parallelism_off():
            t_base, base = timed(name, args.repeats)
        goal = GOALS.get(name)
        met = "" if goal is None else f"< {goal:g} s {'met' if t_ours < goal else 'NOT met'}"
        print(f"{name:18s} {t_ours:8.2f} {t_base:21.2f} {t_base / t_ours:6.2f}x  {met:14s} {agree(record(ours), record(base))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
