"""Fit speed on Hoffmann's data: our fitter vs Hoffmann's 4,500-start L-BFGS-B grid, and vs the floor.

All minimise the same objective (summed Huber, delta 1e-3, on log loss) on the same 240
runs (Besiroglu et al. 2024's extraction minus the 5 highest losses), timed in the same
run. The baseline is the procedure of Hoffmann et al. 2022 as the replication reran it
(bench/hoffmann_baseline.py: L-BFGS-B from all 4,500 grid starts, analytic gradient). The
floor is one L-BFGS-B run of that objective from our optimum perturbed by 1%: what a fit
costs when the basin is already known (no global search at all).

    python bench/fit_speed.py [--starts 4500] [--bootstrap 1000] [--jobs N]
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
from hoffmann_baseline import as_params, hoffmann_fit, hoffmann_grid

from scaling_design.laws.bootstrap import bootstrap
from scaling_design.laws.fit import fit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chinchilla_svg_extracted.csv"


def load():
    rows = list(csv.DictReader(DATA.open()))
    N = np.array([float(r["Model Size"]) for r in rows])
    C = np.array([float(r["Training FLOP"]) for r in rows])
    loss = np.array([float(r["loss"]) for r in rows])
    keep = loss < 3.446
    return N[keep], C[keep] / (6 * N[keep]), loss[keep]


def run_baseline(N, D, L, n_starts):
    grid = hoffmann_grid()
    if n_starts < len(grid):
        grid = grid[np.random.default_rng(0).choice(len(grid), n_starts, replace=False)]
    theta, value = hoffmann_fit(np.column_stack([N, D]), L, grid)
    return value, as_params(theta)


def floor_fit(N, D, L, params: dict, repeats: int) -> tuple[float, float]:
    """Median seconds and objective of L-BFGS-B (analytic gradient) from the optimum perturbed by 1%."""
    theta = np.array([np.log(params["A"]), np.log(params["B"]), np.log(params["E"]), params["alpha"], params["beta"]])
    start = theta * np.random.default_rng(0).choice([0.99, 1.01], size=5)
    times, value = [], np.nan
    for _ in range(repeats):
        t = time.perf_counter()
        _, value = hoffmann_fit(np.column_stack([N, D]), L, [start])
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(value)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=4500, help="baseline starts (4500 = Hoffmann's full grid; fewer = a random subset, time scaled up)")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=None, help="bootstrap workers (default: chosen by the work, laws.parallel)")
    args = ap.parse_args(argv)
    if not DATA.is_file():
        print(f"reference data not found at {DATA}", file=sys.stderr)
        return 1
    N, D, L = load()
    X = np.column_stack([N, D])
    fit("chinchilla", X, L)  # warm imports and caches
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        ours = fit("chinchilla", X, L)
        times.append(time.perf_counter() - t)
    t_ours = float(np.median(times))
    t_floor, floor_obj = floor_fit(N, D, L, ours.params, args.repeats)
    bootstrap(ours, X, L, n_boot=8, seed=1, n_jobs=args.jobs)  # start the workers (once per process)
    t = time.perf_counter()
    boot = bootstrap(ours, X, L, n_boot=args.bootstrap, seed=0, n_jobs=args.jobs)
    t_boot = time.perf_counter() - t
    t = time.perf_counter()
    base_obj, base_params = run_baseline(N, D, L, args.starts)
    t_base = (time.perf_counter() - t) * 4500 / args.starts
    print(f"command: python bench/fit_speed.py --starts {args.starts} --bootstrap {args.bootstrap} --repeats {args.repeats}"
          + (f" --jobs {args.jobs}" if args.jobs else "") + f"   (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)")
    print(f"data: {len(L)} runs (Hoffmann Fig. 4 via Besiroglu et al. 2024, 5 highest losses dropped)")
    print(f"ours:     {t_ours * 1e3:9.1f} ms  objective {ours.objective:.8f}  converged={ours.converged}  "
          + " ".join(f"{k}={v:.4f}" for k, v in ours.params.items()))
    label = "full 4,500-start grid" if args.starts >= 4500 else f"{args.starts} starts, scaled to 4,500"
    print(f"baseline: {t_base * 1e3:9.1f} ms  objective {base_obj:.8f}  ({label})  "
          + " ".join(f"{k}={v:.4f}" for k, v in base_params.items()))
    print(f"floor:    {t_floor * 1e3:9.1f} ms  objective {floor_obj:.8f}  (L-BFGS-B from our optimum perturbed by 1%)")
    print(f"speed-up: {t_base / t_ours:,.0f}x the grid; ours / floor = {t_ours / t_floor:.2f}x (goal <= 3x); "
          f"objective ours - baseline = {ours.objective - base_obj:+.3e}, ours - floor = {ours.objective - floor_obj:+.3e} (<= 0 is no worse)")
    print(f"fit: {ours.optimizer.n_grid} grid starts ranked, {ours.optimizer.n_polished} polished, {ours.optimizer.n_agree} agreeing")
    print(f"bootstrap: {args.bootstrap} replicates in {t_boot:.2f} s = {t_boot / args.bootstrap * 1e3:.2f} ms each (goal: 1,000 in < 2 s); "
          f"{boot.n_starts} polishes ({boot.n_starts - boot.n_done} grid starts beat the warm start), {boot.n_failed} not converged; "
          "SE " + " ".join(f"{k}={v:.4f}" for k, v in zip(ours.form.param_names, boot.se)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
