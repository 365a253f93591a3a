"""Form selection ('auto') on Hoffmann's 240 runs and the OLMo ladder: time and what it picks.

'auto' scores every built-in joint form x objective (huber-log, ls-log, ls) by rolling
extrapolation: for each of the two largest model sizes, fit the runs below it and predict
the runs at or above it. Timed beside one default fit of the same data in the same run.

    python bench/auto_form.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from scaling_design.analysis import fit_scaling_law as tool

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def chinchilla_runs():
    rows = list(csv.DictReader((DATA / "chinchilla_svg_extracted.csv").open()))
    runs = [{"N": float(r["Model Size"]), "C": float(r["Training FLOP"]), "loss": float(r["loss"])} for r in rows]
    return [r for r in runs if r["loss"] < 3.446]  # the replication's 240 (the 5 highest losses dropped)


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def olmo():
    rows = list(csv.DictReader((DATA / "olmo_ladder_final.csv").open()))
    train = [{"N": float(r["N"]), "D": float(r["D"]), "loss": float(r["loss"])} for r in rows if r["size"] != "3B"]
    test = [r for r in rows if r["size"] == "3B" and r["rerun"] == "0"]
    truth = np.array([float(r["loss"]) for r in test])
    at = [{"N": float(r["N"]), "D": float(r["D"])} for r in test]
    for form in ("chinchilla", "auto"):
        out = tool.run(tool.Input(form=form, runs=train, predict_at=at, level=0.9))
        pred = np.array([p.loss for p in out.predictions])
        cover = sum(p.prediction_interval.low <= t <= p.prediction_interval.high for p, t in zip(out.predictions, truth))
        print(f"OLMo 190M-1B -> 3B, form {form:10s}: MARE {100 * np.mean(np.abs(pred / truth - 1)):.2f}%, "
              f"90% prediction intervals cover {cover} of 5" + (f" (picked {out.selected['competitive']})" if out.selected else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"reference data not found at {DATA}", file=sys.stderr)
        return 1
    runs = chinchilla_runs()
    t_one, _ = median_time(lambda: tool.run(tool.Input(runs=runs)), args.repeat)
    t_auto, out = median_time(lambda: tool.run(tool.Input(form="auto", runs=runs)), args.repeat)
    print(f"command: python bench/auto_form.py --repeat {args.repeat}")
    print(f"Chinchilla 240 runs: one default fit {t_one:.3f} s; form auto {t_auto:.2f} s "
          f"({len(out.selection)} candidates, picked {out.form}/{out.objective}, tie: {out.selected['tie']})")
    for row in out.selection:
        err = "skipped" if row["heldout_error"] is None else f"{100 * row['heldout_error']:.2f}%"
        print(f"  {row['form']:12s} {row['objective']:9s} held-out {err}")
    olmo()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
