"""Fit speed on Hoffmann's data: our fitter vs Hoffmann's 4,500-start L-BFGS-B grid.

Both minimise the same objective (summed Huber, delta 1e-3, on log loss) on the same 240
runs (Besiroglu et al. 2024's extraction minus the 5 highest losses), timed in the same
run. The baseline is the procedure of Hoffmann et al. 2022 as the replication reran it
(bench/hoffmann_baseline.py: L-BFGS-B from all 4,500 grid starts, analytic gradient).

    python bench/fit_speed.py [--starts 4500] [--bootstrap 1000]
"""
from __future__ import annotations

import argparse
import csv
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=4500, help="baseline starts (4500 = Hoffmann's full grid; fewer = a random subset, time scaled up)")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=20)
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
    t = time.perf_counter()
    boot = bootstrap(ours, X, L, n_boot=args.bootstrap, seed=0)
    t_boot = time.perf_counter() - t
    t = time.perf_counter()
    base_obj, base_params = run_baseline(N, D, L, args.starts)
    t_base = (time.perf_counter() - t) * 4500 / args.starts
    print(f"command: python bench/fit_speed.py --starts {args.starts} --bootstrap {args.bootstrap}")
    print(f"data: {len(L)} runs (Hoffmann Fig. 4 via Besiroglu et al. 2024, 5 highest losses dropped)")
    print(f"ours:     {t_ours * 1e3:9.1f} ms  objective {ours.objective:.8f}  converged={ours.converged}  "
          + " ".join(f"{k}={v:.4f}" for k, v in ours.params.items()))
    label = "full 4,500-start grid" if args.starts >= 4500 else f"{args.starts} starts, scaled to 4,500"
    print(f"baseline: {t_base * 1e3:9.1f} ms  objective {base_obj:.8f}  ({label})  "
          + " ".join(f"{k}={v:.4f}" for k, v in base_params.items()))
    print(f"speed-up: {t_base / t_ours:,.0f}x; objective ours - baseline = {ours.objective - base_obj:+.3e} (<= 0 is no worse)")
    print(f"bootstrap: {args.bootstrap} replicates in {t_boot:.2f} s ({boot.n_failed} not converged); "
          "SE " + " ".join(f"{k}={v:.4f}" for k, v in zip(ours.form.param_names, boot.se)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
