"""How cost grows: one joint-law fit on 1e3..1e5 runs, and budgeted run selection on 2e2..2e4 candidates.

Fits: runs scattered over N 1e7..3e9 and D/N 3..300 from a known joint law with 1% log noise;
time (median of --repeats) and peak memory traced by tracemalloc in a separate call. Selection:
the V-optimal greedy of laws.optimal_design (loss at 70B / 1.4T) on geometric pools of sizes x
ratios, with two budgets: a fixed one (5% of the 2,000-candidate pool's cost, so the runs chosen
stay about the same as the pool grows) and 5% of each pool's own cost (the runs chosen grow with
the pool, and a greedy that adds one run a step pays for each). The exponent is the slope of log
time on log size. Pools over laws.optimal_design.BLOCK_POOL candidates are selected in blocks (a
step adds 2% of the runs chosen so far); for those the exact one-run-a-step greedy runs once
too, and its criterion is printed beside.

    python bench/scaling_cost.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from scaling_design.knowledge import published_law
from scaling_design.laws.fit import fit
from scaling_design.laws.forms import get_form
from scaling_design.laws import optimal_design
from scaling_design.laws.optimal_design import greedy_select, response_rows, target_gradient
from scaling_design.laws.simulate import NoiseModel

TRUTH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
RUNS = (1_000, 3_000, 10_000, 30_000, 100_000)
POOLS = ((10, 20), (20, 50), (50, 40), (100, 100), (100, 200))  # sizes x ratios: 200 .. 20,000 candidates


def runs_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, np.log10(3e9), n)
    X = np.column_stack([N, N * 10 ** rng.uniform(np.log10(3), np.log10(300), n)])
    return X, get_form("chinchilla").predict(TRUTH, X) * np.exp(rng.normal(0, 0.01, n))


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def pool(n_sizes: int, n_ratios: int):
    N = np.geomspace(1e7, 3e9, n_sizes)
    X = np.array([(n, r * n) for n in N for r in np.geomspace(1, 400, n_ratios)])
    return X, 6 * X[:, 0] * X[:, 1]


def exponent(sizes, times) -> float:
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def fit_table(repeats: int) -> None:
    print("fit, joint law (summed Huber), runs -> median s, peak traced MB")
    sizes, times = [], []
    for n in RUNS:
        X, y = runs_data(n)
        t = median_time(lambda: fit("chinchilla", X, y), repeats)
        mb = peak_mb(lambda: fit("chinchilla", X, y))
        res = fit("chinchilla", X, y)
        sizes.append(n)
        times.append(t)
        print(f"  {n:>7,d} runs  {t:7.3f} s  {mb:7.1f} MB  alpha {res.params['alpha']:.4f} (truth 0.348) converged={res.converged}")
    print(f"  exponent {exponent(sizes, times):.2f} (goal <= 1.1); 100,000 runs: {times[-1]:.2f} s (goal < 1 s)")


def selection_table(repeats: int) -> None:
    form, params = get_form("chinchilla"), published_law("epoch")["params"]
    G = target_gradient(form, params, lambda v: np.log(form.predict(v, np.array([[7e10, 1.4e12]]))))
    fixed = 0.05 * pool(50, 40)[1].sum()
    print("selection (cost-weighted greedy + exchange), candidates -> median s [runs chosen]")
    for label, budget_of in (("fixed budget", lambda c: fixed), ("5% of the pool", lambda c: 0.05 * c.sum())):
        sizes, times = [], []
        for shape in POOLS:
            X, costs = pool(*shape)
            rows = response_rows(form, params, X, NoiseModel().sd_of_loss)
            budget = budget_of(costs)
            t = median_time(lambda: greedy_select(rows, costs, G, budget), repeats)
            res = greedy_select(rows, costs, G, budget)
            sizes.append(len(X))
            times.append(t)
            versus = ""
            if len(X) > optimal_design.BLOCK_POOL:  # the block greedy: its criterion against the exact greedy's
                t0 = time.perf_counter()
                exact = greedy_select(rows, costs, G, budget, exact=True)
                versus = (f"  criterion {res.criterion / exact.criterion - 1:+.2%} vs the exact greedy "
                          f"({time.perf_counter() - t0:.2f} s)")
            print(f"  {label:15s} {len(X):>7,d} candidates  {t:7.3f} s  [{int(res.counts.sum())} runs]{versus}")
        print(f"  {label:15s} exponent {exponent(sizes, times):.2f} (goal <= 1.1); 20,000 candidates: {times[-1]:.2f} s (goal < 1 s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"command: python bench/scaling_cost.py --repeats {args.repeats}   "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    fit_table(args.repeats)
    selection_table(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
