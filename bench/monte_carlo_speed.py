"""Monte Carlo speed: 2,000 simulated joint-law fits for a 30-run design.

Ours: laws.simulate.monte_carlo (the study's fitter prepared once for the design: start grid
and bases kept, each data set polished from the truth, a grid start polished too when it beats
it), on every core by default. Baselines, timed in the same run on the same simulated data:
  1. Hoffmann et al. 2022's procedure: L-BFGS-B on the summed Huber (delta 1e-3) of
     LSE(a - alpha log N, b - beta log D, e) - log L from the 4,500-start grid
     (alpha, beta in 0..2 step 0.5; e in -1..1 step 0.5; a, b in 0..25 step 5). A full grid
     per fit would take minutes, so a random subset of the grid is timed on a few data sets
     and the cost per fit is extrapolated to 4,500 starts.
  2. scipy.optimize.curve_fit (least squares on log loss) from one generic start.
Targets: 2,000 fits in under 10 s on this machine, and no more CPU per fit than one-start
curve_fit (CPU time of a serial run of ours against curve_fit's, both in this process).

Run: python bench/monte_carlo_speed.py [--sims 2000] [--jobs N] [--baseline-starts 100]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from scipy.optimize import curve_fit

from hoffmann_baseline import hoffmann_fit, hoffmann_grid

from scaling_design import knowledge
from scaling_design.laws.simulate import NoiseModel, monte_carlo, simulate_losses

TARGET_S = 10.0
CPU_SIMS = 200  # serial refits timed in CPU seconds


def design_30() -> np.ndarray:
    """10 model sizes over 2 decades x 3 tokens-per-parameter ratios (5, 20, 80)."""
    N = np.geomspace(1e7, 1e9, 10)
    return np.array([[n, n * r] for r in (5.0, 20.0, 80.0) for n in N])


# -- baseline 1: Hoffmann's L-BFGS-B grid (bench/hoffmann_baseline.py) ---------------------------


# -- baseline 2: curve_fit from one start --------------------------------------------------------
def log_joint(X, E, A, B, alpha, beta):
    return np.log(E + A * X[:, 0] ** -alpha + B * X[:, 1] ** -beta)


def curve_fit_one_start(X, y):
    p0 = (1.0, 100.0, 100.0, 0.3, 0.3)
    bounds = ([0, 0, 0, 0, 0], [10, 1e7, 1e7, 3, 3])
    try:
        popt, _ = curve_fit(log_joint, X, np.log(y), p0=p0, bounds=bounds, maxfev=5000)
        return popt
    except RuntimeError:
        return np.full(5, np.nan)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--baseline-datasets", type=int, default=2)
    parser.add_argument("--baseline-starts", type=int, default=100, help="random subset of Hoffmann's 4,500 starts timed per data set")
    parser.add_argument("--curve-fit-datasets", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=None, help="workers for our Monte Carlo (default: chosen by the work)")
    args = parser.parse_args(argv)
    command = "python bench/monte_carlo_speed.py " + " ".join(sys.argv[1:] if argv is None else argv)

    law = knowledge.published_law("epoch")
    params, X, noise = law["params"], design_30(), NoiseModel("log-constant", 0.0075)
    truth = np.array([params[k] for k in ("E", "A", "B", "alpha", "beta")])
    print(f"design: {X.shape[0]} runs (N 1e7..1e9 x D/N 5, 20, 80); prior: Epoch fit {params}; noise log-constant sigma 0.0075")

    monte_carlo("chinchilla", params, X, noise=noise, n_sims=8, seed=1, n_jobs=args.jobs)  # start the workers once
    t0 = time.perf_counter()
    mc = monte_carlo("chinchilla", params, X, noise=noise, n_sims=args.sims, seed=0, time_limit_s=3600.0, n_jobs=args.jobs)
    ours_s = time.perf_counter() - t0
    ours_per_fit = ours_s / mc.n_done
    c0 = time.process_time()
    serial = monte_carlo("chinchilla", params, X, noise=noise, n_sims=CPU_SIMS, seed=0, time_limit_s=3600.0, n_jobs=1)
    cpu_per_fit = (time.process_time() - c0) / serial.n_done
    err = np.abs(mc.values[:, 3] / truth[3] - 1)
    projected = ours_per_fit * 2000
    extra = mc.n_starts - 1
    print(f"ours      : {mc.n_done} fits in {ours_s:.2f} s = {mc.n_done / ours_s:.1f} fits/s ({1e3 * ours_per_fit:.2f} ms/fit wall); "
          f"serial {1e3 * cpu_per_fit:.2f} CPU-ms/fit; converged {mc.converged.mean():.1%}; {mc.n_grid} grid starts ranked per fit, "
          f"{int(np.sum(extra > 0))} fits also polished a grid start; 90th pct |rel err| alpha {np.quantile(err, 0.9):.2%}")
    print(f"target    : 2,000 fits in < {TARGET_S:.0f} s: {'measured' if mc.n_done == 2000 else 'projected'} {projected:.1f} s -> "
          f"{'met' if projected < TARGET_S else 'NOT met'} (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

    rng = np.random.default_rng(1)
    grid = hoffmann_grid()
    data = [simulate_losses("chinchilla", params, X, noise, rng) for _ in range(max(args.baseline_datasets, args.curve_fit_datasets))]
    starts_per_set = min(args.baseline_starts, len(grid))
    t0 = time.perf_counter()
    for y in data[: args.baseline_datasets]:
        subset = grid[rng.choice(len(grid), starts_per_set, replace=False)]
        hoffmann_fit(X, y, subset)
    lbfgs_s = time.perf_counter() - t0
    per_start = lbfgs_s / (args.baseline_datasets * starts_per_set)
    hoffmann_per_fit = per_start * len(grid)
    print(f"baseline 1: Hoffmann L-BFGS-B grid, {args.baseline_datasets} data sets x {starts_per_set} of {len(grid)} starts in "
          f"{lbfgs_s:.2f} s -> {1e3 * per_start:.2f} ms/start -> {hoffmann_per_fit:.2f} s per full-grid fit (extrapolated), "
          f"{hoffmann_per_fit * args.sims / 3600:.2f} h for {args.sims} fits")

    c0 = time.process_time()
    fits = np.array([curve_fit_one_start(X, y) for y in data[: args.curve_fit_datasets]])
    cf_s = time.process_time() - c0
    cf_per_fit = cf_s / args.curve_fit_datasets
    cf_err = np.abs(fits[:, 3] / truth[3] - 1)
    cf_bad = float(np.mean(~np.isfinite(cf_err) | (cf_err > 0.5)))
    print(f"baseline 2: curve_fit from one start, {args.curve_fit_datasets} fits in {cf_s:.2f} CPU-s = {1e3 * cf_per_fit:.2f} CPU-ms/fit; "
          f"{cf_bad:.1%} failed or off by > 50% in alpha")

    print(f"ratio     : per fit, Hoffmann grid / ours (wall) = {hoffmann_per_fit / ours_per_fit:.0f}x; CPU per fit, "
          f"curve_fit one start / ours serial = {cf_per_fit / cpu_per_fit:.2f}x (>= 1: ours no slower; goal met: "
          f"{'yes' if cf_per_fit >= cpu_per_fit else 'no'})")
    print(f"command   : {command.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
